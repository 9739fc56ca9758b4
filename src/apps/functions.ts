// The functions an app registered on a node, as rows for tableos.app_function: the
// workflows service's procedures, steps and workflows, the gateway's routes (with their
// zod schemas as JSON Schema) and the cron schedules added from this process.
import { z } from 'zod';
import type { TableOS } from '../tableos.js';

export type FunctionKind = 'workflow' | 'procedure' | 'step' | 'route' | 'cron';

export interface AppFunction {
  kind: FunctionKind;
  name: string;
  input_schema: unknown;
  output_schema: unknown;
  detail: Record<string, unknown> | null;
}

/** A zod schema as JSON Schema; null when there is none (or it has no JSON form). */
export function jsonSchemaOf(schema: z.ZodType | undefined, io: 'input' | 'output'): unknown {
  if (schema === undefined) return null;
  try {
    return z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  } catch {
    return null;
  }
}

export function collectFunctions(os: TableOS): AppFunction[] {
  const out: AppFunction[] = [];
  const k = os.kernel;
  if (k.has('workflows'))
    for (const f of os.workflows.functions())
      out.push({
        kind: f.kind,
        name: f.name,
        input_schema: null,
        output_schema: null,
        detail: null,
      });
  if (k.has('http')) {
    const { routes, exposedPrefix } = os.http.declared();
    for (const r of routes)
      out.push({
        kind: 'route',
        name: `${r.method} ${r.path}`,
        input_schema: jsonSchemaOf(r.body ?? r.query, 'input'),
        output_schema: jsonSchemaOf(r.response, 'output'),
        detail: {
          method: r.method,
          path: r.path,
          runs: { kind: r.target.kind, name: r.target.name },
          ...(r.params !== undefined ? { params: jsonSchemaOf(r.params, 'input') } : {}),
        },
      });
    if (exposedPrefix !== undefined)
      out.push({
        kind: 'route',
        name: `POST ${exposedPrefix}/:name`,
        input_schema: null,
        output_schema: null,
        detail: { method: 'POST', path: `${exposedPrefix}/:name`, runs: 'every workflow' },
      });
  }
  if (k.has('scheduler'))
    for (const c of os.scheduler.cronSchedules())
      out.push({
        kind: 'cron',
        name: c.name,
        input_schema: null,
        output_schema: null,
        detail: { expr: c.expr, tz: c.tz, queue: c.queue, kind: c.kind },
      });
  return out;
}
