// /console/dags: the graphs of the serverless service, newest first, filtered by status; and
// /console/dags/:id: a graph drawn as SVG (laid out on the server by dagre, so the page needs
// no script to show it), each node coloured by its state, with the node table and cancel.
import * as dagre from '@dagrejs/dagre';
import { Graph, type Edge } from '@dagrejs/graphlib';
import type { Sql } from '../kernel/database.js';
import { HttpBadRequestError } from '../http/errors.js';
import * as proc from '../serverless/procedures.js';
import { toDag, toNode } from '../serverless/rows.js';
import type { DagInfo, DagNodeInfo, DagStatus } from '../serverless/types.js';
import { html, raw, type SafeHtml } from './html.js';
import { statusBadge, time } from './layout.js';
import { pretty } from './workflow-page.js';

export const DAG_STATUSES: readonly DagStatus[] = [
  'running',
  'done',
  'failed',
  'cancelled',
  'timed_out',
];
/** More nodes than this are listed, not drawn: a layout of thousands is unreadable anyway. */
export const MAX_DRAWN = 300;
const LIST_LIMIT = 200;
const NODE_W = 150;
const NODE_H = 44;

interface Point {
  x: number;
  y: number;
}
type LayoutGraph = Graph<
  {
    rankdir: string;
    nodesep: number;
    ranksep: number;
    marginx: number;
    marginy: number;
    width?: number;
    height?: number;
  },
  { width: number; height: number; x: number; y: number },
  { points?: Point[] }
>;
// dagre's declaration files import their siblings without extensions, which NodeNext cannot
// follow, so its one function used here is given its type by hand (the graph is graphlib's).
const layout = (dagre as unknown as { layout: (g: LayoutGraph) => void }).layout;

export function dagHref(id: string): string {
  return `/console/dags/${encodeURIComponent(id)}`;
}

export function parseDagStatus(v: unknown): DagStatus | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || !(DAG_STATUSES as readonly string[]).includes(v))
    throw new HttpBadRequestError(
      `status must be one of ${DAG_STATUSES.join(', ')}, got ${JSON.stringify(v)}`,
      'query.status',
    );
  return v as DagStatus;
}

export async function dagsBody(sql: Sql, status: DagStatus | undefined): Promise<SafeHtml> {
  const dags = (await proc.list(sql, status ?? null, LIST_LIMIT)).map(toDag);
  return html`<form class="filters" method="get" action="/console/dags">
      <label
        >status
        <select name="status">
          <option value="">any</option>
          ${DAG_STATUSES.map(
            (s) => html`<option value="${s}" ${s === status ? raw(' selected') : ''}>${s}</option>`,
          )}
        </select></label
      >
      <button type="submit">Filter</button>
    </form>
    ${
      dags.length === 0
        ? html`<p class="muted">No graphs${status === undefined ? '' : html` ${status}`}.</p>`
        : html`<table id="dag-list">
            <thead>
              <tr>
                <th scope="col">id</th>
                <th scope="col">status</th>
                <th scope="col" class="num">nodes</th>
                <th scope="col" class="num">remaining</th>
                <th scope="col">queue</th>
                <th scope="col">created</th>
                <th scope="col">finished</th>
              </tr>
            </thead>
            <tbody>
              ${dags.map(
                (d) =>
                  html`<tr data-dag="${d.id}">
                    <td><a href="${dagHref(d.id)}">${d.id}</a></td>
                    <td class="dag-status">${statusBadge(d.status)}</td>
                    <td class="num nodes">${d.nodeCount}</td>
                    <td class="num remaining">${d.remaining}</td>
                    <td>${d.queue}</td>
                    <td>${time(d.createdAt)}</td>
                    <td>${time(d.finishedAt)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    ${
      dags.length === LIST_LIMIT
        ? html`<p class="muted">The newest ${LIST_LIMIT} are shown.</p>`
        : ''
    }`;
}

/** The graph and its nodes; undefined when there is no graph with that id. */
export async function dagDetail(
  sql: Sql,
  id: string,
): Promise<{ dag: DagInfo; nodes: DagNodeInfo[] } | undefined> {
  const [row] = await sql<
    Parameters<typeof toDag>[0][]
  >`select * from tableos.dag where id = ${id}`;
  if (row === undefined) return undefined;
  return { dag: toDag(row), nodes: (await proc.nodes(sql, id)).map(toNode) };
}

export function dagBody(dag: DagInfo, nodes: DagNodeInfo[]): SafeHtml {
  const base = dagHref(dag.id);
  return html`<table id="dag-info">
      <tbody>
        <tr>
          <th scope="row">id</th>
          <td>${dag.id}</td>
        </tr>
        <tr>
          <th scope="row">status</th>
          <td id="dag-status">${statusBadge(dag.status)}</td>
        </tr>
        <tr>
          <th scope="row">nodes</th>
          <td id="dag-nodes">${dag.nodeCount}</td>
        </tr>
        <tr>
          <th scope="row">remaining</th>
          <td>${dag.remaining}</td>
        </tr>
        <tr>
          <th scope="row">queue</th>
          <td>${dag.queue}</td>
        </tr>
        <tr>
          <th scope="row">created</th>
          <td>${time(dag.createdAt)}</td>
        </tr>
        <tr>
          <th scope="row">finished</th>
          <td>${time(dag.finishedAt)}</td>
        </tr>
        <tr>
          <th scope="row">deadline</th>
          <td>${time(dag.deadline)}</td>
        </tr>
        ${
          dag.error === null
            ? ''
            : html`<tr>
                <th scope="row">error</th>
                <td><pre>${dag.error}</pre></td>
              </tr>`
        }
      </tbody>
    </table>
    ${
      dag.status === 'running'
        ? html`<div class="actions">
            <form
              hx-post="${base}/cancel"
              hx-confirm="Cancel graph ${dag.id}? Nodes not started are cancelled; running ones finish."
            >
              <button type="submit" class="danger" id="cancel">Cancel</button>
            </form>
          </div>`
        : ''
    }
    <h2>Graph</h2>
    ${
      nodes.length > MAX_DRAWN
        ? html`<p class="muted">
            ${nodes.length} nodes: more than ${MAX_DRAWN} are listed, not drawn.
          </p>`
        : drawGraph(nodes)
    }
    <h2>Nodes</h2>
    <table id="dag-node-list">
      <thead>
        <tr>
          <th scope="col">node</th>
          <th scope="col">function</th>
          <th scope="col">status</th>
          <th scope="col">parents</th>
          <th scope="col" class="num">attempts</th>
          <th scope="col" class="num">memory MB</th>
          <th scope="col">worker</th>
          <th scope="col">started</th>
          <th scope="col">finished</th>
          <th scope="col">output or error</th>
        </tr>
      </thead>
      <tbody>
        ${nodes.map(
          (n) =>
            html`<tr data-node="${n.id}">
              <td>${n.id}</td>
              <td>${n.fn} <span class="muted">${n.kind}</span></td>
              <td class="node-status">${statusBadge(n.status)}</td>
              <td>${n.parents.join(', ')}</td>
              <td class="num">${n.attempts}/${n.maxAttempts}</td>
              <td class="num">${n.memoryMb}</td>
              <td>${n.workerId ?? html`<span class="muted">-</span>`}</td>
              <td>${time(n.startedAt)}</td>
              <td>${time(n.finishedAt)}</td>
              <td>
                ${n.error !== null ? html`<pre>${n.error}</pre>` : n.status === 'done' ? html`<pre>${pretty(n.output)}</pre>` : ''}
              </td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

/** Nodes left to right by dependency (dagre's layered layout), edges parent to child. */
function drawGraph(nodes: DagNodeInfo[]): SafeHtml {
  if (nodes.length === 0) return html`<p class="muted">No nodes.</p>`;
  const g: LayoutGraph = new Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 48, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(nodes.map((n) => n.id));
  for (const n of nodes) g.setNode(n.id, { width: NODE_W, height: NODE_H, x: 0, y: 0 });
  for (const n of nodes) for (const p of n.parents) if (ids.has(p)) g.setEdge(p, n.id);
  layout(g);
  const { width = 0, height = 0 } = g.graph();
  const edges = g.edges().map((e: Edge) => {
    const pts = g.edge(e).points ?? [];
    const d = pts
      .map((p: Point, i: number) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`)
      .join(' ');
    return html`<path class="dag-edge" d="${d}" marker-end="url(#dag-arrow)" />`;
  });
  const boxes = nodes.map((n) => {
    const { x, y } = g.node(n.id);
    const state = /^[a-z_]{1,32}$/.test(n.status) ? n.status : 'unknown';
    return html`<g
      class="dag-node dag-node-${state}"
      data-node="${n.id}"
      transform="translate(${(x - NODE_W / 2).toFixed(1)},${(y - NODE_H / 2).toFixed(1)})"
    >
      <title>${n.id}: ${n.fn} (${n.status})</title>
      <rect width="${NODE_W}" height="${NODE_H}" rx="4" />
      <text x="8" y="17">${clip(n.id)}</text>
      <text x="8" y="34" class="dag-node-sub">${clip(`${n.fn} · ${n.status}`)}</text>
    </g>`;
  });
  return html`<svg
    id="dag-graph"
    role="img"
    aria-label="graph of ${nodes.length} nodes"
    width="${Math.ceil(width)}"
    height="${Math.ceil(height)}"
    viewBox="0 0 ${Math.ceil(width)} ${Math.ceil(height)}"
  >
    <defs>
      <marker
        id="dag-arrow"
        viewBox="0 0 10 10"
        refX="10"
        refY="5"
        markerWidth="7"
        markerHeight="7"
        orient="auto-start-reverse"
      >
        <path d="M0,0 L10,5 L0,10 z" />
      </marker>
    </defs>
    ${edges}${boxes}
  </svg>`;
}

function clip(s: string, max = 20): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
