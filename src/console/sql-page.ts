// /console/sql: one statement over the OS state, in a READ ONLY transaction with a statement
// timeout, unless the node was started with the console's SQL write flag.
import type { ConsoleContext } from './context.js';
import { html, type SafeHtml } from './html.js';

export const MAX_ROWS = 1000;

function cell(v: unknown): SafeHtml {
  if (v === null || v === undefined) return html`<span class="muted">NULL</span>`;
  if (v instanceof Date) return html`${v.toISOString()}`;
  if (Buffer.isBuffer(v)) return html`\\x${v.toString('hex')}`;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
    return html`${String(v)}`;
  if (typeof v === 'bigint') return html`${v.toString()}`;
  return html`${JSON.stringify(v) ?? ''}`;
}

export function sqlForm(ctx: ConsoleContext, text = ''): SafeHtml {
  return html`<p>
      ${ctx.sqlWrite ? html`<strong>Statements may write</strong> (the console's SQL write flag is on).` : html`Statements run in a <code>READ ONLY</code> transaction`},
      with a timeout of ${ctx.sqlTimeoutMs} ms; at most ${MAX_ROWS} rows are shown.
    </p>
    <form class="stack" hx-post="/console/sql" hx-target="#sql-result" hx-swap="outerHTML">
      <label for="sql-text">statement</label>
      <textarea id="sql-text" name="sql" rows="6" cols="100">${text}</textarea>
      <div class="actions"><button type="submit" id="run-sql">Run</button></div>
    </form>
    <div id="sql-result"></div>`;
}

export async function runSql(ctx: ConsoleContext, text: string): Promise<SafeHtml> {
  const mode = ctx.sqlWrite ? 'read write' : 'read only';
  try {
    const result = await ctx.kernel.sql.begin(mode, async (tx) => {
      // A select first: the transaction has a snapshot, so the statement cannot make it read write.
      await tx`select set_config('statement_timeout', ${String(ctx.sqlTimeoutMs)}, true)`;
      return tx.unsafe(text);
    });
    const columns = (result.columns ?? []).map((c) => c.name);
    const rows = [...result].slice(0, MAX_ROWS) as Record<string, unknown>[];
    return html`<div id="sql-result">
      <p id="sql-summary">
        ${result.count ?? rows.length}
        row(s)${result.command ? html` · ${result.command}` : ''}${rows.length < result.length ? html` · first ${MAX_ROWS} shown` : ''}
      </p>
      ${
        columns.length === 0
          ? ''
          : html`<table id="sql-table">
              <thead>
                <tr>
                  ${columns.map((c) => html`<th scope="col">${c}</th>`)}
                </tr>
              </thead>
              <tbody>
                ${rows.map(
                  (r) =>
                    html`<tr>
                      ${columns.map((c) => html`<td>${cell(r[c])}</td>`)}
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
    </div>`;
  } catch (err) {
    const e = err as { message?: string; code?: string };
    return html`<div id="sql-result">
      <p id="sql-error" role="alert">
        ERROR: ${e.message ?? String(err)}${e.code ? html` (SQLSTATE ${e.code})` : ''}
      </p>
    </div>`;
  }
}
