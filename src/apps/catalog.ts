// Deployed apps and their functions: recorded by a starting node in one transaction
// (tableos.app_deploy), listed by tableos apps and tableos fn ls.
import type { Sql } from '../kernel/database.js';
import { InvalidArgumentError } from '../kernel/errors.js';
import { runQuery } from '../kernel/query.js';
import './errors.js';
import type { AppFunction } from './functions.js';

export interface AppRow {
  name: string;
  version: string;
  code_hash: string;
  first_seen_at: Date;
  last_seen_at: Date;
  last_executor_id: string | null;
  /** Live executors running this version now. */
  executors: number;
  functions: number;
}

export interface AppFunctionRow {
  app: string;
  version: string;
  kind: AppFunction['kind'];
  name: string;
  input_schema: unknown;
  output_schema: unknown;
  detail: Record<string, unknown> | null;
}

/** Records an app version and its functions for executor (one transaction); true when the same version's code hash changed. */
export async function recordDeploy(
  sql: Sql,
  d: {
    executorId: string | null;
    name: string;
    version: string;
    codeHash: string;
    functions: AppFunction[];
  },
): Promise<{ hashChanged: boolean }> {
  const params = [d.executorId, d.name, d.version, d.codeHash, d.functions];
  const [row] = await runQuery(
    'tableos.app_deploy',
    params,
    () => sql<{ hash_changed: boolean }[]>`
      select * from tableos.app_deploy(${d.executorId}, ${d.name}, ${d.version}, ${d.codeHash},
                                       ${sql.json(d.functions as never)})`,
  );
  return { hashChanged: row?.hash_changed === true };
}

export async function listApps(sql: Sql): Promise<AppRow[]> {
  return runQuery(
    'tableos.app',
    [],
    () => sql<AppRow[]>`
      select a.*,
             (select count(*)::int from tableos.executor e
               where e.status = 'alive' and e.app_name = a.name and e.app_version = a.version) as executors,
             (select count(*)::int from tableos.app_function f
               where f.app = a.name and f.version = a.version) as functions
        from tableos.app a order by a.name, a.first_seen_at`,
  );
}

export async function listFunctions(
  sql: Sql,
  opts: { app?: string | undefined; version?: string | undefined } = {},
): Promise<AppFunctionRow[]> {
  for (const [k, v] of Object.entries(opts))
    if (v !== undefined && (typeof v !== 'string' || v === ''))
      throw new InvalidArgumentError(`${k} must be a non-empty string`);
  const app = opts.app ?? null;
  const version = opts.version ?? null;
  return runQuery(
    'tableos.app_function',
    [app, version],
    () => sql<AppFunctionRow[]>`
      select f.* from tableos.app_function f join tableos.app a on a.name = f.app and a.version = f.version
       where (${app}::text is null or f.app = ${app}) and (${version}::text is null or f.version = ${version})
       order by f.app, a.first_seen_at, f.kind, f.name`,
  );
}
