import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestDatabase } from '../support/db.js';

describe('scheduler CLI', () => {
  it('creates, pauses and inspects queues, swaps policies, manages cron, and rejects bad input', async () => {
    const env = { DATABASE_URL: await createTestDatabase() };
    const ok = async (args: string[]) => {
      const r = await runCli(args, env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return r.stdout;
    };
    expect(
      await ok(['queue', 'create', 'mail', '--concurrency', '5', '--rate', '10/1000']),
    ).toMatch(/mail \| fifo/);
    expect(await ok(['sched', 'policy', 'mail', 'least_loaded'])).toMatch(/mail\s+\| least_loaded/);
    expect(await ok(['queue', 'pause', 'mail'])).toBe('mail paused\n');
    const list = JSON.parse(await ok(['queue', 'list', '--json'])) as {
      paused: boolean;
      policy: string;
      concurrency: number;
    };
    expect(list).toMatchObject({ paused: true, policy: 'least_loaded', concurrency: 5 });
    expect(await ok(['queue', 'resume', 'mail'])).toBe('mail resumed\n');
    expect(
      await ok(['cron', 'add', 'digest', '0 */5 * * * *', '--queue', 'mail', '--kind', 'digest']),
    ).toMatch(/digest/);
    expect(await ok(['cron', 'list'])).toMatch(/digest \| 0 \*\/5 \* \* \* \*/);
    expect(await ok(['cron', 'rm', 'digest'])).toBe('digest removed\n');
    expect(await ok(['sched', 'policy'])).toMatch(/locality/);

    const bad = async (args: string[], message: RegExp, code = 1) => {
      const r = await runCli(args, env);
      expect(r.code).toBe(code);
      expect(r.stderr).toMatch(message);
    };
    await bad(['queue', 'show', 'nope'], /unknown queue 'nope'.*TABLEOS_SCHED_UNKNOWN_QUEUE/);
    await bad(['sched', 'policy', 'mail', 'random'], /unknown policy 'random'/);
    await bad(['queue', 'create', 'mail', '--per-key', '-2'], /per-key|perKey/);
    await bad(['queue', 'create', 'mail', '--rate', 'fast'], /--rate must look like/);
    await bad(
      ['cron', 'add', 'x', 'every tuesday', '--queue', 'mail', '--kind', 'k'],
      /invalid cron expression/,
    );
    await bad(['sched', 'tasks', '424242'], /unknown task id 424242/);
    await bad(['queue', 'frobnicate'], /unknown command/, 2);
    // Nothing changed by the failures.
    const after = JSON.parse(await ok(['queue', 'show', 'mail', '--json'])) as {
      perKey: number | null;
      rateLimit: { count: number; periodMs: number } | null;
    };
    expect(after.perKey).toBeNull();
    expect(after.rateLimit).toEqual({ count: 10, periodMs: 1000 });
  });
});
