// The filters of the workflows list, read from the query string and checked: a bad value is a
// 400 that names the field, never a query.
import { HttpBadRequestError } from '../http/errors.js';
import { WORKFLOW_STATUSES } from './snapshot.js';

export interface RunFilter {
  status: string | undefined;
  name: string | undefined;
  /** Runs whose id starts with this. */
  id: string | undefined;
  /** `15m`, `1h`, `7d` or an ISO time: runs created at or after it. */
  since: string | undefined;
  page: number;
}

export const PAGE_SIZE = 50;
const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

function text(v: unknown, field: string, max = 255): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || v.length > max)
    throw new HttpBadRequestError(`${field} must be text of at most ${max} characters`, field);
  return v;
}

export function parseFilter(q: Record<string, unknown>): RunFilter {
  const status = text(q.status, 'query.status');
  if (status !== undefined && !(WORKFLOW_STATUSES as readonly string[]).includes(status))
    throw new HttpBadRequestError(
      `status must be one of ${WORKFLOW_STATUSES.join(', ')}, got ${JSON.stringify(status)}`,
      'query.status',
    );
  const since = text(q.since, 'query.since', 40);
  if (since !== undefined) sinceDate(since);
  const pageText = text(q.page, 'query.page', 9) ?? '0';
  if (!/^\d+$/.test(pageText))
    throw new HttpBadRequestError('page must be an integer >= 0', 'query.page');
  return {
    status,
    name: text(q.name, 'query.name'),
    id: text(q.id, 'query.id'),
    since,
    page: Number(pageText),
  };
}

/** The time a `since` value names (relative to now, or absolute). */
export function sinceDate(since: string, now = Date.now()): Date {
  const rel = /^(\d{1,6})([mhd])$/.exec(since);
  if (rel) return new Date(now - Number(rel[1]) * (UNITS[rel[2]!] ?? 0));
  const t = Date.parse(since);
  if (Number.isNaN(t))
    throw new HttpBadRequestError(
      `since must be a duration such as 15m, 1h, 7d or an ISO time, got ${JSON.stringify(since)}`,
      'query.since',
    );
  return new Date(t);
}

export function filterParams(f: RunFilter, page = f.page): Record<string, string | number> {
  const p: Record<string, string | number> = {};
  if (f.status !== undefined) p.status = f.status;
  if (f.name !== undefined) p.name = f.name;
  if (f.id !== undefined) p.id = f.id;
  if (f.since !== undefined) p.since = f.since;
  if (page > 0) p.page = page;
  return p;
}
