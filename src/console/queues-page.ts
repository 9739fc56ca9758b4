// /console/queues: every queue with its limits and depth, and the cron schedules.
import type { ConsoleContext } from './context.js';
import { html, type SafeHtml } from './html.js';
import { time } from './layout.js';
import { readSnapshot } from './snapshot.js';

interface CronRow {
  name: string;
  expr: string;
  tz: string;
  queue: string;
  kind: string;
  paused: boolean;
  next_at: Date;
  last_tick: Date | null;
}

export async function queuesBody(ctx: ConsoleContext): Promise<SafeHtml> {
  const sql = ctx.kernel.sql;
  const [snap, crons] = await Promise.all([
    readSnapshot(sql),
    sql<CronRow[]>`select name, expr, tz, queue, kind, paused, next_at, last_tick
                     from tableos.cron order by name limit 500`,
  ]);
  const num = (n: number | null) => (n === null ? html`<span class="muted">-</span>` : n);
  return html`<h2>Queues</h2>
    <table id="queue-list">
      <thead>
        <tr>
          <th scope="col">queue</th>
          <th scope="col">policy</th>
          <th scope="col">paused</th>
          <th scope="col" class="num">depth</th>
          <th scope="col" class="num">running</th>
          <th scope="col" class="num">concurrency</th>
        </tr>
      </thead>
      <tbody>
        ${snap.queues.map(
          (q) =>
            html`<tr data-queue="${q.name}">
              <td>${q.name}</td>
              <td>${q.policy}</td>
              <td>${q.paused ? 'yes' : 'no'}</td>
              <td class="num depth">${q.depth}</td>
              <td class="num">${q.running}</td>
              <td class="num">${num(q.concurrency)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h2>Cron</h2>
    ${
      crons.length === 0
        ? html`<p class="muted">No schedules.</p>`
        : html`<table id="cron-list">
            <thead>
              <tr>
                <th scope="col">name</th>
                <th scope="col">expression</th>
                <th scope="col">zone</th>
                <th scope="col">queue</th>
                <th scope="col">kind</th>
                <th scope="col">paused</th>
                <th scope="col">next</th>
                <th scope="col">last</th>
              </tr>
            </thead>
            <tbody>
              ${crons.map(
                (c) =>
                  html`<tr data-cron="${c.name}">
                    <td>${c.name}</td>
                    <td><code>${c.expr}</code></td>
                    <td>${c.tz}</td>
                    <td>${c.queue}</td>
                    <td>${c.kind}</td>
                    <td>${c.paused ? 'yes' : 'no'}</td>
                    <td>${time(c.next_at)}</td>
                    <td>${time(c.last_tick)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}
