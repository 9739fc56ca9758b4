// Workflow values as JSON responses: what JSON cannot carry (BigInt, Map, Set, bytes,
// undefined, non-finite numbers) becomes its nearest JSON form, and runs read in camelCase.
import type { WorkflowInfo } from '../workflows/rows.js';
import { TERMINAL, type WorkflowStatus } from '../workflows/types.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

export function toJson(v: unknown): JsonValue {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'bigint':
      return v.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return null;
  }
  if (v === null) return null;
  if (Array.isArray(v)) return v.map(toJson);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toJson(x)]));
  if (v instanceof Set) return [...v].map(toJson);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v instanceof Error) return errorJson(v);
  const out: { [k: string]: JsonValue } = {};
  for (const [k, x] of Object.entries(v as object)) out[k] = toJson(x);
  return out;
}

function errorJson(e: Error): { [k: string]: JsonValue } {
  const { code, status } = e as { code?: unknown; status?: unknown };
  return {
    name: e.name,
    message: e.message,
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(typeof status === 'number' ? { status } : {}),
  };
}

/** A run as GET /runs/{id} shows it. */
export interface RunJson {
  id: string;
  name: string;
  status: WorkflowStatus;
  done: boolean;
  output?: JsonValue;
  error?: { [k: string]: JsonValue };
  recoveryAttempts: number;
  createdAt: string;
  updatedAt: string;
}

export function runJson(info: WorkflowInfo): RunJson {
  const r: RunJson = {
    id: info.id,
    name: info.name,
    status: info.status,
    done: TERMINAL.has(info.status),
    recoveryAttempts: info.recoveryAttempts,
    createdAt: info.createdAt.toISOString(),
    updatedAt: info.updatedAt.toISOString(),
  };
  if (info.status === 'success') r.output = toJson(info.output);
  if (info.error !== undefined) r.error = errorJson(info.error);
  return r;
}
