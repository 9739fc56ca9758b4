// Node outputs are stored as JSON: values that JSON would change or drop are refused, so a
// child sees exactly what its parent returned. A returned ctx.spawn(...) grows the graph.
import { DagOutputError } from './errors.js';
import type { DagExpansion, DagSpawn } from './types.js';

class Expansion implements DagExpansion {
  constructor(readonly spawn: DagSpawn) {}
}

export function expansion(spawn: DagSpawn): DagExpansion {
  return new Expansion(spawn);
}

export function isExpansion(v: unknown): v is DagExpansion {
  return v instanceof Expansion;
}

function check(v: unknown, path: string, seen: Set<object>, what: string): void {
  const bad = (why: string) =>
    new DagOutputError(`${what} is not JSON-serialisable: ${path} ${why}`);
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(v)) throw bad(`is ${String(v)}, which JSON cannot hold`);
      return;
    case 'undefined':
      throw bad('is undefined; use null');
    case 'bigint':
    case 'function':
    case 'symbol':
      throw bad(`is a ${typeof v}`);
  }
  if (v === null) return;
  const o = v as object;
  if (seen.has(o)) throw bad('refers back to itself (a cycle)');
  const proto = Object.getPrototypeOf(o) as unknown;
  if (!Array.isArray(o) && proto !== Object.prototype && proto !== null)
    throw bad(
      `is a ${(o as { constructor?: { name?: string } }).constructor?.name ?? 'non-plain object'}; use plain objects, arrays, strings, numbers, booleans or null`,
    );
  seen.add(o);
  if (Array.isArray(o)) o.forEach((x: unknown, i) => check(x, `${path}[${i}]`, seen, what));
  else
    for (const [k, x] of Object.entries(o))
      if (x !== undefined) check(x, `${path}.${k}`, seen, what);
  seen.delete(o);
}

/** The JSON text of a value, or DagOutputError saying which part JSON cannot hold. */
export function toJsonText(v: unknown, what: string): string {
  check(v, 'the value', new Set(), what);
  return JSON.stringify(v);
}
