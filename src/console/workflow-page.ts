// /console/workflows/:id: a run's input, output or error, its calls as a timeline (children
// nested), its events and messages, and cancel, resume and fork, each asking to confirm.
import { toJson } from '../http/json.js';
import type { WorkflowRow } from '../workflows/rows.js';
import { deserialize, deserializeError } from '../workflows/serialize.js';
import type { ConsoleContext } from './context.js';
import { timeline } from './gantt.js';
import { html, type SafeHtml } from './html.js';
import { statusBadge, time } from './layout.js';
import { callsOf, childRuns, eventsOf, messagesOf } from './workflow-queries.js';
import { runHref } from './workflows-page.js';

const RESUMABLE = new Set(['cancelled', 'error', 'max_recovery_exceeded']);
const CANCELLABLE = new Set(['pending', 'enqueued']);

export function pretty(v: unknown): string {
  return JSON.stringify(toJson(v), null, 2) ?? 'undefined';
}

function decoded(text: string | null): string {
  try {
    return pretty(deserialize(text));
  } catch {
    return text ?? '';
  }
}

function actions(run: WorkflowRow): SafeHtml {
  const base = `${runHref(run.id)}`;
  return html`<div class="actions">
    ${CANCELLABLE.has(run.status) ? html`<form hx-post="${base}/cancel" hx-confirm="Cancel run ${run.id} and its unfinished children?"><button type="submit" class="danger" id="cancel">Cancel</button></form>` : ''}
    ${RESUMABLE.has(run.status) ? html`<form hx-post="${base}/resume" hx-confirm="Resume run ${run.id}?"><button type="submit" id="resume">Resume</button></form>` : ''}
    <form hx-post="${base}/fork" hx-confirm="Start a copy of run ${run.id} under a new id?">
      <label
        >from step
        <input
          name="fromStep"
          type="number"
          min="0"
          size="4"
          aria-label="fork from step (empty: replay every call)"
      /></label>
      <button type="submit" id="fork">Fork</button>
    </form>
  </div>`;
}

export async function workflowBody(ctx: ConsoleContext, run: WorkflowRow): Promise<SafeHtml> {
  const sql = ctx.kernel.sql;
  const kids = await childRuns(sql, run.id);
  const [calls, events, messages] = await Promise.all([
    callsOf(sql, [run.id, ...kids.map((k) => k.id)]),
    eventsOf(sql, run.id),
    messagesOf(sql, run.id),
  ]);
  const err = run.error === null ? undefined : deserializeError(run.error);
  return html`<table id="run-info">
      <tbody>
        <tr>
          <th scope="row">id</th>
          <td id="run-id">${run.id}</td>
        </tr>
        <tr>
          <th scope="row">name</th>
          <td id="run-name">${run.name}</td>
        </tr>
        <tr>
          <th scope="row">status</th>
          <td id="run-status" data-status="${run.status}">${statusBadge(run.status)}</td>
        </tr>
        <tr>
          <th scope="row">executor</th>
          <td>${run.executor_id ?? ''}</td>
        </tr>
        <tr>
          <th scope="row">parent</th>
          <td>
            ${run.parent_id === null ? '' : html`<a href="${runHref(run.parent_id)}">${run.parent_id}</a>`}
          </td>
        </tr>
        <tr>
          <th scope="row">forked from</th>
          <td>
            ${run.forked_from === null ? '' : html`<a href="${runHref(run.forked_from)}">${run.forked_from}</a>`}
          </td>
        </tr>
        <tr>
          <th scope="row">recovery attempts</th>
          <td>${run.recovery_attempts}</td>
        </tr>
        <tr>
          <th scope="row">created</th>
          <td>${time(run.created_at)}</td>
        </tr>
        <tr>
          <th scope="row">updated</th>
          <td>${time(run.updated_at)}</td>
        </tr>
      </tbody>
    </table>
    ${actions(run)}
    <h2>Input</h2>
    <pre id="run-input">${decoded(run.input)}</pre>
    ${
      run.status === 'success'
        ? html`<h2>Output</h2>
            <pre id="run-output">${decoded(run.output)}</pre>`
        : ''
    }
    ${
      err === undefined
        ? ''
        : html`<h2>Error</h2>
            <pre id="run-error">${err.name}: ${err.message}</pre>`
    }
    <h2>Calls</h2>
    ${timeline(run, kids, calls)}
    <h2>Events</h2>
    ${
      events.length === 0
        ? html`<p class="muted">No events.</p>`
        : html`<table id="events">
            <thead>
              <tr>
                <th scope="col">key</th>
                <th scope="col">value</th>
                <th scope="col">set</th>
              </tr>
            </thead>
            <tbody>
              ${events.map(
                (e) =>
                  html`<tr>
                    <td>${e.key}</td>
                    <td><code>${decoded(e.value)}</code></td>
                    <td>${time(e.updated_at)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    <h2>Messages</h2>
    ${
      messages.length === 0
        ? html`<p class="muted">No unconsumed messages to or from this run.</p>`
        : html`<table id="messages">
            <thead>
              <tr>
                <th scope="col">from</th>
                <th scope="col">to</th>
                <th scope="col">topic</th>
                <th scope="col">body</th>
                <th scope="col">sent</th>
              </tr>
            </thead>
            <tbody>
              ${messages.map(
                (m) =>
                  html`<tr>
                    <td>${m.sender}</td>
                    <td>${m.receiver}</td>
                    <td>${m.topic}</td>
                    <td><code>${JSON.stringify(m.body)}</code></td>
                    <td>${time(m.sent_at)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}
