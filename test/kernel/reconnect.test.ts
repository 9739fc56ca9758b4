// Retrying after a lost connection: which errors count, the backoff until the deadline, and
// what is thrown then. No database: the errors are the driver's and the server's codes.
import { describe, expect, it } from 'vitest';
import { DatabaseUnavailableError, QueryError } from '../../src/kernel/errors.js';
import { isConnectionLoss, retryOnConnectionLoss } from '../../src/kernel/reconnect.js';

const withCode = (code: string) => Object.assign(new Error(code), { code });
const policy = { deadlineMs: 300, firstDelayMs: 5, maxDelayMs: 20 };

describe('isConnectionLoss', () => {
  it('counts lost sockets, shutdowns and connection-class SQLSTATEs, also as a cause', () => {
    for (const code of ['CONNECTION_CLOSED', 'ECONNREFUSED', '57P01', '57P02', '57P03', '08006'])
      expect(isConnectionLoss(withCode(code)), code).toBe(true);
    expect(isConnectionLoss(new QueryError('tableos.wf_commit', [], withCode('57P01')))).toBe(true);
  });

  it('does not count the statement’s own errors or this process closing its pool', () => {
    for (const code of ['23505', '40001', 'TF001', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED'])
      expect(isConnectionLoss(withCode(code)), code).toBe(false);
    expect(isConnectionLoss(new Error('boom'))).toBe(false);
    expect(isConnectionLoss(undefined)).toBe(false);
  });
});

describe('retryOnConnectionLoss', () => {
  it('runs again after each loss and returns the first success', async () => {
    let calls = 0;
    const value = await retryOnConnectionLoss(
      'test op',
      () => {
        calls++;
        if (calls < 4) return Promise.reject(withCode('CONNECTION_CLOSED'));
        return Promise.resolve('done');
      },
      { policy },
    );
    expect(value).toBe('done');
    expect(calls).toBe(4);
  });

  it('throws the statement’s own error at once', async () => {
    let calls = 0;
    const failing = retryOnConnectionLoss(
      'test op',
      () => {
        calls++;
        return Promise.reject(withCode('23505'));
      },
      { policy },
    );
    await expect(failing).rejects.toMatchObject({ code: '23505' });
    expect(calls).toBe(1);
  });

  it('gives up at the deadline with DatabaseUnavailableError naming the operation', async () => {
    let calls = 0;
    const failing = retryOnConnectionLoss(
      'tableos.wf_commit',
      () => {
        calls++;
        return Promise.reject(withCode('ECONNREFUSED'));
      },
      { policy },
    );
    const err: unknown = await failing.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect((err as DatabaseUnavailableError).message).toMatch(
      /^tableos\.wf_commit: .*ECONNREFUSED/,
    );
    expect((err as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(calls).toBeGreaterThan(2);
  });

  it('stops retrying once the caller is closing', async () => {
    let calls = 0;
    const failing = retryOnConnectionLoss(
      'test op',
      () => {
        calls++;
        return Promise.reject(withCode('CONNECTION_CLOSED'));
      },
      { policy, stopped: () => calls >= 2 },
    );
    await expect(failing).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(calls).toBe(2);
  });
});
