import { describe, expect, it } from 'vitest';
import { ClosedError, InvalidArgumentError, QueryError } from '../../src/kernel/errors.js';
import { qualifiedName, quoteIdent } from '../../src/kernel/ident.js';
import { openTestOS } from '../support/db.js';

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
});
