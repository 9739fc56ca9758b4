import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestDatabase } from '../support/db.js';

let env: Record<string, string>;

beforeAll(async () => {
  env = { DATABASE_URL: await createTestDatabase() };
});

describe('tableos command', () => {
  it('prints an aligned table for sql', async () => {
    const r = await runCli(
      ['sql', "select 1 as n, 'abc' as word union all select 22, 'x' order by 1"],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [' n  | word', '----+------', '  1 | abc', ' 22 | x', '(2 rows)', ''].join('\n'),
    );
  });

  it('prints JSON lines for sql --json, and runs statements in order', async () => {
    const r = await runCli(
      [
        'sql',
        '--json',
        "create table public.t (a int, b text); insert into public.t values (1, 'q'), (2, null); select * from public.t order by a",
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual([
      { a: 1, b: 'q' },
      { a: 2, b: null },
    ]);
  });

  it('reports bad SQL with the Postgres message and position, exit 1', async () => {
    const r = await runCli(['sql', 'select id, nope from tableos.executor'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERROR: column "nope" does not exist (SQLSTATE 42703)');
    expect(r.stderr).toContain(
      'LINE 1: select id, nope from tableos.executor\n                   ^',
    );
    expect(r.stdout).toBe('');
  });

  it('leaves state untouched when a statement in a batch fails', async () => {
    const r = await runCli(['sql', 'create table public.half (x int); select 1/0'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('division by zero');
    const check = await runCli(
      ['sql', '--json', "select to_regclass('public.half') is null as gone"],
      env,
    );
    expect(check.stdout.trim()).toBe('{"gone":true}');
  });

  it('shows status with schema version and executors', async () => {
    const r = await runCli(['status', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as {
      database: { kind: string };
      schema: { version: string; migrations: number };
    };
    expect(s.database.kind).toBe('external');
    expect(s.schema.version).toMatch(/^\d{4}_/);
    expect(s.schema.migrations).toBeGreaterThanOrEqual(1);
  });

  it('applies migrations with migrate and reports up to date', async () => {
    const r = await runCli(['migrate'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^schema at \d{4}_\w+, up to date\n$/);
  });

  it('exits 2 with usage on an unknown command or flag', async () => {
    const a = await runCli(['frobnicate'], env);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain("unknown command 'frobnicate'");
    expect(a.stderr).toContain('Usage: tableos');
    const b = await runCli(['ps', '--bogus'], env);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("unknown option '--bogus'");
    const c = await runCli(['sql'], env);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain("missing required argument 'query'");
  });

  describe('unreachable database', () => {
    let silent: net.Server;
    let sockets: net.Socket[] = [];
    beforeAll(async () => {
      // Accepts connections and never answers, like a firewalled or hung server.
      silent = net.createServer((s) => sockets.push(s));
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    });
    afterAll(() => {
      for (const s of sockets) s.destroy();
      sockets = [];
      silent.close();
    });

    it('names host and port when the connection is refused', async () => {
      const port = await freePort();
      const r = await runCli(['status'], { DATABASE_URL: `postgres://u@127.0.0.1:${port}/x` });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `cannot reach PostgreSQL at 127.0.0.1:${port}: connection refused`,
      );
    });

    it('gives up after the connect timeout when the server does not answer', async () => {
      const port = (silent.address() as net.AddressInfo).port;
      const r = await runCli(['ps'], { DATABASE_URL: `postgres://u@127.0.0.1:${port}/x` });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `cannot reach PostgreSQL at 127.0.0.1:${port}: no answer within 4s`,
      );
    });
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
