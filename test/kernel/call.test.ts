import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { callProcedure } from '../../src/kernel/call.js';
import { ClosedError, InvalidArgumentError, QueryError } from '../../src/kernel/errors.js';
import { qualifiedName, quoteIdent } from '../../src/kernel/ident.js';
import { createTestDatabase, openTestOS } from '../support/db.js';
import { waitFor } from '../support/wait.js';

describe('call layer', () => {
  it('calls a stored procedure and returns its rows', async () => {
    const os = await openTestOS({ executor: false });
    await os.sql`create function public.add(a int, b int) returns table (sum int) language sql as $$ select a + b $$`;
    expect(await os.call('public.add', 2, 3)).toEqual([{ sum: 5 }]);
    expect(await os.call('tableos.noop')).toEqual([{ noop: null }]);
  });

  it('reports a failing call with the procedure name and parameters', async () => {
    const os = await openTestOS({ executor: false });
    const err = (await os
      .call('tableos.no_such_fn', 1, 'x')
      .catch((e: unknown) => e)) as QueryError;
    expect(err).toBeInstanceOf(QueryError);
    expect(err.code).toBe('TABLEOS_QUERY_FAILED');
    expect(err.query).toBe('tableos.no_such_fn');
    expect(err.params).toEqual([1, 'x']);
    expect(err.sqlState).toBe('42883');
  });

  it('refuses names that are not plain identifiers', async () => {
    const os = await openTestOS({ executor: false });
    for (const bad of ['', 'a.b.c', 'x; drop table t', 'f()', 'a\0b', 'x'.repeat(64)]) {
      await expect(os.call(bad)).rejects.toBeInstanceOf(InvalidArgumentError);
    }
  });

  it('quotes identifiers safely', () => {
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    expect(qualifiedName('tableos.noop')).toBe('"tableos"."noop"');
    expect(() => quoteIdent('a\0')).toThrow(/NUL/);
  });

  it('refuses calls after close', async () => {
    const os = await openTestOS({ executor: false });
    await os.close();
    await expect(os.call('tableos.noop')).rejects.toBeInstanceOf(ClosedError);
    expect(() => os.sql).toThrow(ClosedError);
  });

  it('returns rows from the first index after a result was cut off by a terminated backend', async () => {
    const url = await createTestDatabase();
    const os = await openTestOS({ databaseUrl: url, executor: false, poolSize: 1 });
    const killer = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      await os.sql`create function public.upto(n int) returns table (i int)
                    language sql as $$ select generate_series(1, n) $$`;
      const [{ pid }] = await os.sql<[{ pid: number }]>`select pg_backend_pid() as pid`;
      // Rows of 20 kB leave the server one by one; the fifth sleeps, so some have arrived.
      const cut = os.sql`
        select g, repeat('x', 20000) as pad, case when g = 5 then pg_sleep(60) end as s
          from generate_series(1, 10) g`.catch((e: unknown) => e);
      await waitFor(async () => {
        const [r] = await killer<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity where pid = ${pid} and wait_event = 'PgSleep'`;
        return r!.n === 1;
      });
      await killer`select pg_terminate_backend(${pid})`;
      expect(await cut).toMatchObject({ code: 'CONNECTION_CLOSED' });
      // The driver may fail the next statement with the terminated backend's error.
      let rows: unknown[] | undefined;
      for (let attempt = 0; attempt < 3 && rows === undefined; attempt++) {
        rows = await callProcedure(os.sql, 'public.upto', [3]).catch(() => undefined);
      }
      expect(rows).toEqual([{ i: 1 }, { i: 2 }, { i: 3 }]);
      expect(0 in rows!).toBe(true);
    } finally {
      await killer.end();
    }
  });
});
