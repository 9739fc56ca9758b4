import { describe, expect, it } from 'vitest';
import {
  BadMailboxNameError,
  BadMessageError,
  BadOptionError,
  BadTopicError,
  MailboxNotFoundError,
  MessageTooLargeError,
} from '../../src/messaging/errors.js';
import { MAX_MESSAGE_BYTES } from '../../src/messaging/validate.js';
import { QueryError } from '../../src/kernel/errors.js';
import { PG } from '../../src/kernel/pg-codes.js';
import { openTestOS } from '../support/db.js';

describe('bad input', () => {
  it('refuses each bad input with a clear error and leaves state as it was', async () => {
    const os = await openTestOS({ executor: false });
    const m = os.messaging;
    await m.send('ok', 'first');
    const before = await m.stats();

    const unknown = await m.recv('nobody-here', { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(MailboxNotFoundError);
    expect((unknown as MailboxNotFoundError).code).toBe('TABLEOS_MESSAGING_NO_MAILBOX');
    expect((unknown as Error).message).toMatch(/no mailbox named "nobody-here"/);
    await expect(m.peek('nobody-here')).rejects.toBeInstanceOf(MailboxNotFoundError);
    await expect(m.stats('nobody-here')).rejects.toBeInstanceOf(MailboxNotFoundError);

    const big = 'x'.repeat(MAX_MESSAGE_BYTES);
    const tooLarge = await m.send('ok', big).catch((e: unknown) => e);
    expect(tooLarge).toBeInstanceOf(MessageTooLargeError);
    expect((tooLarge as MessageTooLargeError).bytes).toBe(MAX_MESSAGE_BYTES + 2);
    expect((tooLarge as Error).message).toMatch(/over the limit of 262144 bytes/);
    // Just under the limit is fine.
    await m.send('ok', 'y'.repeat(MAX_MESSAGE_BYTES - 2));
    expect(
      (await m.recvBatch<string>('ok', 5, { timeoutMs: 100 })).map((x) => x.body.length),
    ).toEqual([5, MAX_MESSAGE_BYTES - 2]);
    await m.send('ok', 'first');

    for (const topic of ['', 'has space', 'x'.repeat(65), "'; drop table tableos.message; --", 7]) {
      await expect(m.send('ok', 1, { topic: topic as string })).rejects.toBeInstanceOf(
        BadTopicError,
      );
      await expect(m.recv('ok', { topic: topic as string, timeoutMs: 10 })).rejects.toBeInstanceOf(
        BadTopicError,
      );
    }
    for (const name of [
      '',
      ' ',
      '-lead',
      'a b',
      'x'.repeat(129),
      'a\0b',
      "o'; drop",
      'é',
      null,
      42,
    ]) {
      await expect(m.send(name as string, 1)).rejects.toBeInstanceOf(BadMailboxNameError);
      await expect(m.recv(name as string, { timeoutMs: 10 })).rejects.toBeInstanceOf(
        BadMailboxNameError,
      );
    }
    await expect(m.multicast(['ok', 'bad name'], 1)).rejects.toBeInstanceOf(BadMailboxNameError);
    await expect(m.multicast([], 1)).rejects.toBeInstanceOf(BadOptionError);

    for (const timeout of [0, -5, Number.NaN, Infinity, '100']) {
      const e = await m.recv('ok', { timeoutMs: timeout as number }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(BadOptionError);
      expect((e as Error).message).toMatch(/timeoutMs must be a positive number of milliseconds/);
    }
    await expect(m.call('ok', 1, { timeoutMs: 0 })).rejects.toBeInstanceOf(BadOptionError);
    await expect(m.recvBatch('ok', 0)).rejects.toBeInstanceOf(BadOptionError);
    await expect(m.recvBatch('ok', 1.5)).rejects.toBeInstanceOf(BadOptionError);

    await expect(m.send('ok', undefined)).rejects.toBeInstanceOf(BadMessageError);
    await expect(m.send('ok', () => 1)).rejects.toBeInstanceOf(BadMessageError);
    await expect(m.send('ok', 10n)).rejects.toBeInstanceOf(BadMessageError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(m.send('ok', cyclic)).rejects.toBeInstanceOf(BadMessageError);
    await expect(m.send('ok', 'nul\0byte')).rejects.toThrow(/NUL/);
    await expect(m.send('ok', 1, { id: '' })).rejects.toBeInstanceOf(BadOptionError);
    await expect(m.createMailbox('r', { retentionMs: -1 })).rejects.toBeInstanceOf(BadOptionError);

    // The procedure holds the limit for direct SQL callers too.
    const direct = (await os
      .call('tableos.msg_send', ['ok'], ['sql'], [null], [null], [null], [`"${big}"`], [], [])
      .catch((e: unknown) => e)) as MessageTooLargeError;
    expect(direct).toBeInstanceOf(MessageTooLargeError);
    expect(direct.bytes).toBe(MAX_MESSAGE_BYTES + 2);
    expect((direct.cause as QueryError).sqlState).toBe(PG.tableosError);

    // Hostile strings are data, not SQL.
    await m.send('ok', "'); delete from tableos.message; --", { topic: 'sql' });
    const [msg] = await m.peek('ok', { topic: 'sql' });
    expect(msg?.body).toBe("'); delete from tableos.message; --");
    await m.recv('ok', { topic: 'sql' });

    expect(await m.stats()).toEqual(
      before.map((s) => ({ ...s, oldestAt: expect.any(Date) as Date })),
    );
    expect((await m.peek('ok')).map((x) => x.body)).toEqual(['first']);
  });
});
