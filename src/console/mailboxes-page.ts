// /console/mailboxes: mailboxes with their waiting messages; one mailbox's oldest messages.
import type { ConsoleContext } from './context.js';
import { html, type SafeHtml } from './html.js';
import { time } from './layout.js';

interface MailboxRow {
  name: string;
  pending: number;
  leased: number;
  expired: string;
  oldest: Date | null;
  created_at: Date;
}

export function mailboxHref(name: string): string {
  return `/console/mailboxes/${encodeURIComponent(name)}`;
}

export async function mailboxesBody(ctx: ConsoleContext): Promise<SafeHtml> {
  const rows = await ctx.kernel.sql<MailboxRow[]>`
    select b.name, b.expired::text, b.created_at, m.pending, m.leased, m.oldest
      from (select * from tableos.mailbox order by name limit 500) b
      cross join lateral (
        select count(*) filter (where claimed_until is null or claimed_until < now())::int as pending,
               count(*) filter (where claimed_until >= now())::int as leased,
               min(sent_at) as oldest
          from tableos.message where receiver = b.name) m
     order by b.name`;
  return html`<table id="mailbox-list">
    <thead>
      <tr>
        <th scope="col">mailbox</th>
        <th scope="col" class="num">waiting</th>
        <th scope="col" class="num">leased</th>
        <th scope="col" class="num">expired</th>
        <th scope="col">oldest</th>
        <th scope="col">created</th>
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (r) =>
          html`<tr data-mailbox="${r.name}">
            <td><a href="${mailboxHref(r.name)}">${r.name}</a></td>
            <td class="num pending">${r.pending}</td>
            <td class="num">${r.leased}</td>
            <td class="num">${r.expired}</td>
            <td>${time(r.oldest)}</td>
            <td>${time(r.created_at)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export async function mailboxBody(ctx: ConsoleContext, name: string): Promise<SafeHtml> {
  const rows = await ctx.kernel.sql<
    {
      seq: string;
      sender: string;
      topic: string;
      body: unknown;
      sent_at: Date;
      deliveries: number;
    }[]
  >`select seq::text, sender, topic, body, sent_at, deliveries from tableos.message
     where receiver = ${name} order by seq limit 100`;
  return html`<p><a href="/console/mailboxes">all mailboxes</a></p>
    ${
      rows.length === 0
        ? html`<p class="muted">No messages waiting.</p>`
        : html`<table id="message-list">
            <thead>
              <tr>
                <th scope="col" class="num">seq</th>
                <th scope="col">from</th>
                <th scope="col">topic</th>
                <th scope="col">body</th>
                <th scope="col">sent</th>
                <th scope="col" class="num">deliveries</th>
              </tr>
            </thead>
            <tbody>
              ${rows.map(
                (m) =>
                  html`<tr>
                    <td class="num">${m.seq}</td>
                    <td>${m.sender}</td>
                    <td>${m.topic}</td>
                    <td><code>${JSON.stringify(m.body)}</code></td>
                    <td>${time(m.sent_at)}</td>
                    <td class="num">${m.deliveries}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}
