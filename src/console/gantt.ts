// A run's calls as a timeline: one bar per call from its start to its end, on an axis from
// the run's creation to the last thing that happened in it or its children, which are drawn
// nested under their parent.
import type { CallRow } from '../workflows/rows.js';
import { html, type SafeHtml } from './html.js';
import { statusBadge } from './layout.js';
import { runHref } from './workflows-page.js';

export interface TimelineRun {
  id: string;
  name: string;
  status: string;
  parent_id: string | null;
  created_at: Date;
  updated_at: Date;
}

interface Axis {
  t0: number;
  span: number;
}

const pct = (v: number) => `${Math.max(0, Math.min(100, v)).toFixed(2)}%`;

function bar(axis: Axis, c: CallRow, depth: number): SafeHtml {
  const start = (c.started_at ?? c.ended_at).getTime();
  const end = c.ended_at.getTime();
  const left = ((start - axis.t0) / axis.span) * 100;
  const width = ((end - start) / axis.span) * 100;
  const ms = c.started_at === null ? '' : `${end - start} ms`;
  return html`<div class="gantt-row" data-seq="${c.seq}">
    <span style="padding-left:${depth * 1.2}em">${c.seq}. ${c.kind} <code>${c.name}</code></span>
    <span class="gantt-track"
      ><span
        class="gantt-bar${c.error === null ? '' : ' error'}"
        style="left:${pct(left)};width:${pct(width)}"
        title="${c.kind} ${c.name}: ${ms}"
      ></span
    ></span>
    <span class="num">${ms}</span>
  </div>`;
}

function block(
  axis: Axis,
  run: TimelineRun,
  calls: Map<string, CallRow[]>,
  children: Map<string, TimelineRun[]>,
  depth = 0,
): SafeHtml {
  // Children are indented in the label column only, so every bar shares one time axis.
  return html`${(calls.get(run.id) ?? []).map((c) => bar(axis, c, depth))}
  ${(children.get(run.id) ?? []).map(
    (k) =>
      html`<div class="gantt-child" data-child="${k.id}">
        <div>
          child <a href="${runHref(k.id)}">${k.id}</a>
          <code>${k.name}</code> ${statusBadge(k.status)}
        </div>
        ${block(axis, k, calls, children)}
      </div>`,
  )}`;
}

export function timeline(
  root: TimelineRun,
  descendants: readonly TimelineRun[],
  calls: Map<string, CallRow[]>,
): SafeHtml {
  const children = new Map<string, TimelineRun[]>();
  for (const d of descendants) {
    const list = children.get(d.parent_id ?? '') ?? [];
    list.push(d);
    children.set(d.parent_id ?? '', list);
  }
  let t1 = root.updated_at.getTime();
  for (const list of calls.values()) for (const c of list) t1 = Math.max(t1, c.ended_at.getTime());
  for (const d of descendants) t1 = Math.max(t1, d.updated_at.getTime());
  const t0 = root.created_at.getTime();
  const axis = { t0, span: Math.max(1, t1 - t0) };
  if ((calls.get(root.id) ?? []).length === 0 && descendants.length === 0)
    return html`<p class="muted">No calls recorded.</p>`;
  return html`<div class="gantt" id="timeline" aria-label="calls over time, ${t1 - t0} ms in all">
    ${block(axis, root, calls, children)}
  </div>`;
}
