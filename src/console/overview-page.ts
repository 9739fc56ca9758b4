// /console: executors with their heartbeats, queues with depth, tasks by state, runs by
// status and a chart of runs per minute by status. The tables refresh every 2 s (htmx).
import { html, jsonScript, type SafeHtml } from './html.js';
import { statusBadge } from './layout.js';
import {
  readChart,
  readSnapshot,
  TASK_STATES,
  WORKFLOW_STATUSES,
  type ChartData,
  type Snapshot,
} from './snapshot.js';
import type { ConsoleContext } from './context.js';

export function overviewTables(s: Snapshot): SafeHtml {
  return html`<div
    id="overview"
    hx-get="/console/overview"
    hx-trigger="every 2s"
    hx-swap="outerHTML"
  >
    <h2>Executors</h2>
    <table id="executors">
      <thead>
        <tr>
          <th scope="col">id</th>
          <th scope="col">host</th>
          <th scope="col" class="num">pid</th>
          <th scope="col">status</th>
          <th scope="col" class="num">heartbeat age (s)</th>
          <th scope="col" class="num">lease left (s)</th>
        </tr>
      </thead>
      <tbody>
        ${s.executors.map(
          (e) =>
            html`<tr data-id="${e.id}">
              <td>${e.id}</td>
              <td>${e.host}</td>
              <td class="num">${e.pid}</td>
              <td>${e.status}</td>
              <td class="num">${e.heartbeatAgeS.toFixed(1)}</td>
              <td class="num">${e.status === 'alive' ? e.leaseLeftS.toFixed(1) : ''}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h2>Queues</h2>
    <table id="queues">
      <thead>
        <tr>
          <th scope="col">queue</th>
          <th scope="col">policy</th>
          <th scope="col">paused</th>
          <th scope="col" class="num">depth</th>
          <th scope="col" class="num">running</th>
        </tr>
      </thead>
      <tbody>
        ${s.queues.map(
          (q) =>
            html`<tr data-queue="${q.name}">
              <td>${q.name}</td>
              <td>${q.policy}</td>
              <td>${q.paused ? 'yes' : 'no'}</td>
              <td class="num depth">${q.depth}</td>
              <td class="num">${q.running}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h2>Tasks by state</h2>
    <table id="tasks">
      <thead>
        <tr>
          ${TASK_STATES.map((st) => html`<th scope="col" class="num">${st}</th>`)}
        </tr>
      </thead>
      <tbody>
        <tr>
          ${TASK_STATES.map((st) => html`<td class="num" data-state="${st}">${s.tasks[st] ?? 0}</td>`)}
        </tr>
      </tbody>
    </table>
    <h2>
      Workflows by status
      <span class="muted">(created in the last hour; ${s.pending} pending in all)</span>
    </h2>
    <table id="workflow-statuses">
      <thead>
        <tr>
          ${WORKFLOW_STATUSES.map((st) => html`<th scope="col" class="num">${statusBadge(st)}</th>`)}
        </tr>
      </thead>
      <tbody>
        <tr>
          ${WORKFLOW_STATUSES.map((st) => html`<td class="num" data-status="${st}"><a href="/console/workflows?status=${st}&amp;since=1h">${s.workflows[st] ?? 0}</a></td>`)}
        </tr>
      </tbody>
    </table>
  </div>`;
}

function chart(data: ChartData): SafeHtml {
  return html`<h2>Runs per minute by status (last hour)</h2>
    ${jsonScript('chart-data', data)}
    <div
      class="chart"
      data-chart="chart-data"
      role="img"
      aria-label="runs created per minute in the last hour, one line per status"
    ></div>`;
}

export async function overviewBody(ctx: ConsoleContext): Promise<SafeHtml> {
  const [snap, data] = await Promise.all([readSnapshot(ctx.kernel.sql), readChart(ctx.kernel.sql)]);
  return html`${chart(data)}${overviewTables(snap)}`;
}
