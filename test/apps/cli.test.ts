// tableos start <entry> through the built CLI: a broken or missing entry fails with a clear
// error and exit 1 (and the process does exit); a good one is deployed as rows that tableos
// apps and tableos fn ls list; subcommand options named --version do not clash with the
// root's -V, --version.
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/kernel/version.js';
import { runCli, startCli } from '../support/cli.js';
import { createTestDatabase } from '../support/db.js';

const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));
const pools: postgres.Sql[] = [];
afterAll(async () => {
  for (const p of pools) await p.end();
});

async function counts(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  pools.push(sql);
  const [r] = await sql<{ apps: number; fns: number; alive: number }[]>`
    select (select count(*)::int from tableos.app) as apps,
           (select count(*)::int from tableos.app_function) as fns,
           (select count(*)::int from tableos.executor where status = 'alive') as alive`;
  return r!;
}

describe('tableos start with a bad entry', () => {
  it('names the file and why, exits 1, and records nothing', async () => {
    const url = await createTestDatabase();
    const env = { DATABASE_URL: url };
    const cases: [string, RegExp][] = [
      [
        fixture('missing.app.ts'),
        /app entry .*missing\.app\.ts \(named on the command line\) does not exist.*\[TABLEOS_APP_ENTRY_NOT_FOUND\]/,
      ],
      [
        fixture('throws.app.ts'),
        /app entry .*throws\.app\.ts failed to load: the config service is down \[TABLEOS_APP_LOAD_FAILED\]/,
      ],
      [
        fixture('no-app.app.ts'),
        /app entry .*no-app\.app\.ts exports no app: export default defineApp.*\[TABLEOS_APP_INVALID\]/,
      ],
      [
        fixture('setup-throws.app.ts'),
        /app broken: setup failed: no queue named orders \[TABLEOS_APP_SETUP_FAILED\]/,
      ],
    ];
    for (const [entry, message] of cases) {
      // A process kept alive (a loader thread, an open pool) would hit the timeout: code null.
      const r = await runCli(['start', entry], env, 30_000);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(1);
      expect(r.stdout).not.toContain('TableOS node up');
    }
    expect(await counts(url)).toEqual({ apps: 0, fns: 0, alive: 0 });
  }, 120_000);

  it('a missing entry named in tableos.config.json, or a bad config, is an error too', async () => {
    const cwd = fileURLToPath(new URL('./fixtures/bad-config/', import.meta.url));
    const r = await runCli(['start'], {}, 30_000, cwd);
    expect(r.stderr).toMatch(
      /tableos\.config\.json: Unrecognized key: "port" \[TABLEOS_APP_CONFIG_INVALID\]/,
    );
    expect(r.code).toBe(1);
    const cwd2 = fileURLToPath(new URL('./fixtures/config-entry/', import.meta.url));
    const r2 = await runCli(['start'], {}, 30_000, cwd2);
    expect(r2.stderr).toMatch(
      /app entry .*config-entry\/src\/gone\.ts \(the entry in .*tableos\.config\.json\) does not exist/,
    );
    expect(r2.code).toBe(1);
  }, 60_000);
});

describe('a deployed app', () => {
  it('is recorded as rows that tableos apps and tableos fn ls list', async () => {
    const url = await createTestDatabase();
    const env = { DATABASE_URL: url, APP_VERSION: 'v7', TABLEOS_HTTP_PORT: '0' };
    const node = startCli(['start', fixture('versioned.app.ts')], env);
    try {
      await node.waitFor(/^ {2}http {6}http:\/\/\S+$/m);
      expect(node.stdout()).toMatch(
        /^ {2}app {7}jobs v7 \(.*versioned\.app\.ts; 1 procedure, 1 step, 1 workflow, 1 route\)$/m,
      );
      const apps = await runCli(['apps', '--json'], env);
      expect(apps.code).toBe(0);
      const [app] = apps.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(app).toMatchObject({ name: 'jobs', version: 'v7', executors: 1, functions: 4 });
      expect(app!.code_hash).toMatch(/^[0-9a-f]{64}$/);
      const table = await runCli(['apps'], env);
      expect(table.stdout).toMatch(/^ jobs \| v7 +\| [0-9a-f]{12} \|.*\| +1 \| +4$/m);

      // --version after the subcommand is the subcommand's option, not the root's.
      const fns = await runCli(['fn', 'ls', '--app', 'jobs', '--version', 'v7', '--json'], env);
      expect(fns.code).toBe(0);
      const rows = fns.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(rows.map((f) => `${String(f.kind)} ${String(f.name)}`)).toEqual([
        'procedure mark',
        'route POST /jobs',
        'step gate',
        'workflow job',
      ]);
      const route = rows.find((f) => f.kind === 'route')!;
      expect(route.input_schema).toMatchObject({
        type: 'object',
        properties: { n: { type: 'integer' } },
        required: ['n'],
      });
      expect(route.output_schema).toMatchObject({ properties: { finishedBy: { type: 'string' } } });
      expect(route.detail).toMatchObject({
        method: 'POST',
        path: '/jobs',
        runs: { kind: 'workflow', name: 'job' },
      });
      const none = await runCli(['fn', 'ls', '--version', 'v8'], env);
      expect(none.stdout.trimEnd()).toBe(
        [
          ' app | version | kind | name | input | output',
          '-----+---------+------+------+-------+--------',
          '(0 rows)',
        ].join('\n'),
      );
      const ps = await runCli(['ps'], env);
      expect(ps.stdout).toMatch(/\| jobs v7 +\| alive /);
      const root = await runCli(['--version']);
      expect(root.stdout.trim()).toBe(VERSION);
      const resume = await runCli(['wf', 'resume', 'nope', '--version', 'v7'], env);
      expect(resume.stderr).toContain('no workflow with id "nope"');
      expect(resume.code).toBe(1);
    } finally {
      node.child.kill('SIGTERM');
    }
    expect(await node.exited).toBe(0);
    expect(await counts(url)).toMatchObject({ apps: 1, fns: 4, alive: 0 });
  }, 90_000);
});
