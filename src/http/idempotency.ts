// Idempotency-Key: the key, prefixed by its route, is the id of the run that answers the
// request; tableos.http_claim keeps a hash of the first request under it, so a retry gets
// that run's answer and another request under the same key is refused (422).
import crypto from 'node:crypto';
import type { Kernel } from '../kernel/kernel.js';
import { queryRows } from '../kernel/query.js';
import { HttpBadRequestError, HttpKeyReusedError } from './errors.js';
import { toJson } from './json.js';

const ID = /^[A-Za-z0-9._:@/+=-]{1,255}$/;
const MAX_ID = 255;

/** The route part of a run id: `http:post.orders` for POST /orders. */
export function routePrefix(method: string, path: string): string {
  return `http:${method.toLowerCase()}${sanitize(path)}`;
}

/** Characters a run id cannot hold become dots: `/orders/:id` -> `.orders.:id`. */
export function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9._:@+=-]+/g, '.');
}

export function checkPrefix(prefix: string): boolean {
  return ID.test(prefix) && prefix.length <= MAX_ID - 2;
}

/** The run id for a key under a route: `<prefix>:<key>`. */
export function runIdFor(prefix: string, key: string): string {
  const id = `${prefix}:${key}`;
  if (!ID.test(key) || id.length > MAX_ID) {
    throw new HttpBadRequestError(
      `Idempotency-Key must be 1-${MAX_ID - prefix.length - 1} characters of letters, digits and . _ : @ / + = - (a UUID will do)`,
      'header.idempotency-key',
    );
  }
  return id;
}

/** A hash of the validated request: body, path parameters and query. */
export function requestHash(input: { body: unknown; params: unknown; query: unknown }): string {
  return crypto
    .createHash('sha256')
    .update(JSON.stringify(toJson(input)))
    .digest('base64url');
}

const CLAIM_SQL = 'select * from tableos.http_claim($1::text, $2::text, $3::text)';

/** Claims the run id for this request, or checks that the earlier claim was the same request. */
export async function claimKey(
  kernel: Kernel,
  c: { id: string; route: string; hash: string; key: string },
): Promise<void> {
  const params = [c.id, c.route, c.hash];
  const [row] = await kernel.retrying('tableos.http_claim', () =>
    queryRows<{ claimed_route: string; claimed_hash: string; created: boolean }>(
      kernel.sql,
      'tableos.http_claim',
      CLAIM_SQL,
      params,
    ),
  );
  if (row !== undefined && (row.claimed_hash !== c.hash || row.claimed_route !== c.route))
    throw new HttpKeyReusedError(c.key, c.id);
}
