// /console/workflows: runs filtered by status, name, id prefix and creation time, 50 a page,
// newest first; the table refreshes itself every 2 s.
import { html, query, type SafeHtml } from './html.js';
import { statusBadge, time } from './layout.js';
import type { ConsoleContext } from './context.js';
import { filterParams, type RunFilter } from './workflow-filter.js';
import { listRuns } from './workflow-queries.js';
import { WORKFLOW_STATUSES } from './snapshot.js';

export function runHref(id: string): string {
  return `/console/workflows/${encodeURIComponent(id)}`;
}

const SINCE = [
  ['', 'any time'],
  ['15m', 'last 15 minutes'],
  ['1h', 'last hour'],
  ['24h', 'last day'],
  ['7d', 'last week'],
] as const;

function filters(f: RunFilter): SafeHtml {
  const known = SINCE.some(([v]) => v === (f.since ?? ''));
  return html`<form class="filters" method="get" action="/console/workflows" role="search">
    <label
      >status
      <select name="status">
        <option value="">any</option>
        ${WORKFLOW_STATUSES.map(
          (s) => html`<option value="${s}" ${f.status === s ? html` selected` : ''}>${s}</option>`,
        )}
      </select></label
    >
    <label>name <input name="name" value="${f.name ?? ''}" /></label>
    <label>id starts with <input name="id" value="${f.id ?? ''}" /></label>
    <label
      >created
      <select name="since">
        ${SINCE.map(
          ([v, label]) =>
            html`<option value="${v}" ${(f.since ?? '') === v ? html` selected` : ''}>
              ${label}
            </option>`,
        )}${known ? '' : html`<option value="${f.since ?? ''}" selected>since ${f.since ?? ''}</option>`}
      </select></label
    >
    <button type="submit">Filter</button>
  </form>`;
}

export async function runsTable(ctx: ConsoleContext, f: RunFilter): Promise<SafeHtml> {
  const { rows, more } = await listRuns(ctx.kernel.sql, f);
  const self = `/console/workflows/rows${query(filterParams(f))}`;
  const pageLink = (p: number) => `/console/workflows${query(filterParams(f, p))}`;
  return html`<div id="runs" hx-get="${self}" hx-trigger="every 2s" hx-swap="outerHTML">
    <table id="runs-table">
      <thead>
        <tr>
          <th scope="col">id</th>
          <th scope="col">name</th>
          <th scope="col">status</th>
          <th scope="col">created</th>
          <th scope="col">updated</th>
          <th scope="col">executor</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (r) =>
            html`<tr data-id="${r.id}">
              <td><a href="${runHref(r.id)}">${r.id}</a></td>
              <td>${r.name}</td>
              <td data-status="${r.status}">${statusBadge(r.status)}</td>
              <td>${time(r.created_at)}</td>
              <td>${time(r.updated_at)}</td>
              <td>${r.executor_id ?? ''}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${rows.length === 0 ? html`<p class="muted">No runs match.</p>` : ''}
    <nav class="pages" aria-label="pages">
      ${f.page > 0 ? html`<a href="${pageLink(f.page - 1)}" rel="prev">newer</a>` : ''}
      <span>page ${f.page + 1}</span>
      ${more ? html`<a href="${pageLink(f.page + 1)}" rel="next">older</a>` : ''}
    </nav>
  </div>`;
}

export async function workflowsBody(ctx: ConsoleContext, f: RunFilter): Promise<SafeHtml> {
  return html`${filters(f)}${await runsTable(ctx, f)}`;
}
