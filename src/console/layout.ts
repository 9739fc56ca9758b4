// The page shell every console page shares: navigation, the vendored scripts, the title.
import { html, type SafeHtml } from './html.js';

const NAV = [
  ['overview', '/console', 'Overview'],
  ['workflows', '/console/workflows', 'Workflows'],
  ['queues', '/console/queues', 'Queues and cron'],
  ['dags', '/console/dags', 'DAGs'],
  ['mailboxes', '/console/mailboxes', 'Mailboxes'],
  ['files', '/console/files', 'Files'],
  ['sql', '/console/sql', 'SQL'],
] as const;

export type Section = (typeof NAV)[number][0];

export function page(title: string, section: Section, body: SafeHtml): SafeHtml {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · TableOS console</title>
        <link rel="stylesheet" href="/console/assets/console.css" />
        <link rel="stylesheet" href="/console/assets/uplot.min.css" />
        <script src="/console/assets/htmx.min.js"></script>
        <script src="/console/assets/uplot.min.js"></script>
        <script src="/console/assets/console.js"></script>
      </head>
      <body>
        <header>
          <span class="brand"><a href="/console">TableOS</a></span>
          <nav aria-label="console">
            ${NAV.map(
              ([key, href, label]) =>
                html`<a href="${href}" ${key === section ? html` aria-current="page"` : ''}
                  >${label}</a
                > `,
            )}
          </nav>
        </header>
        <main id="main">
          <h1>${title}</h1>
          ${body}
        </main>
      </body>
    </html>`;
}

/** A status shown as a coloured label (the class is chosen from a fixed set). */
export function statusBadge(status: string): SafeHtml {
  const known = /^[a-z_]{1,32}$/.test(status) ? status : 'unknown';
  return html`<span class="status status-${known}">${status}</span>`;
}

export function time(d: Date | null | undefined): SafeHtml {
  if (d === null || d === undefined) return html`<span class="muted">-</span>`;
  return html`<time datetime="${d.toISOString()}"
    >${d.toISOString().replace('T', ' ').slice(0, 23)}</time
  >`;
}
