/* eslint-disable @typescript-eslint/require-await -- registered functions are async by contract; these do no I/O */
import { describe, expect, it } from 'vitest';
import { TableOSError } from '../../src/kernel/errors.js';
import { openTestOS } from '../support/db.js';

describe('workflows: procedures, steps, start', () => {
  it('runs a workflow of a procedure and steps, recording each call in order', async () => {
    const os = await openTestOS();
    await os.sql`create table acct (id text primary key, n int not null)`;
    await os.sql`insert into acct values ('a', 0)`;
    const wf = os.workflows;
    const add = wf.procedure('add', async (tx, k: number) => {
      const [r] = await tx<
        { n: number }[]
      >`update acct set n = n + ${k} where id = 'a' returning n`;
      return r!.n;
    });
    let effects = 0;
    const ping = wf.step('ping', async (x: string) => {
      effects++;
      return `pong ${x}`;
    });
    const flow = wf.workflow('flow', async (ctx, k: number) => {
      const n = await ctx.call(add, k);
      const p = await ctx.call(ping, String(n));
      return { n, p, when: new Date(0), big: 2n ** 70n };
    });
    const h = await flow.start([5], { id: 'f-1' });
    const out = await h.result();
    expect(out).toEqual({ n: 5, p: 'pong 5', when: new Date(0), big: 2n ** 70n });
    expect(effects).toBe(1);
    const info = await wf.get('f-1');
    expect(info.status).toBe('success');
    expect(info.input).toEqual([5]);
    expect(info.output).toEqual(out);
    const steps = await wf.steps('f-1');
    expect(steps.map((s) => [s.seq, s.kind, s.name, s.status, s.output])).toEqual([
      [0, 'procedure', 'add', 'success', 5],
      [1, 'step', 'ping', 'success', 'pong 5'],
    ]);
    // Same id again: the same run, nothing re-executed, the stored result returned.
    const again = await flow.start([5], { id: 'f-1' });
    expect(await again.result()).toEqual(out);
    expect(effects).toBe(1);
    const [acct] = await os.sql<{ n: number }[]>`select n from acct`;
    expect(acct!.n).toBe(5);
  });

  it('starting one id concurrently runs it once and gives both callers the result', async () => {
    const os = await openTestOS();
    let runs = 0;
    const flow = os.workflows.workflow('once', async (_ctx, x: number) => {
      runs++;
      await new Promise((r) => setTimeout(r, 50));
      return x * 2;
    });
    const [a, b] = await Promise.all([
      flow.start([21], { id: 'same' }),
      flow.start([21], { id: 'same' }),
    ]);
    expect(await a.result()).toBe(42);
    expect(await b.result()).toBe(42);
    expect(runs).toBe(1);
    expect(await os.workflows.handle('same').result()).toBe(42);
  });

  it('records workflow errors and rethrows them to the caller', async () => {
    const os = await openTestOS();
    const flow = os.workflows.workflow('boom', async () => {
      const e = new Error('kaput') as Error & { code: string };
      e.code = 'E_KAPUT';
      throw e;
    });
    const h = await flow.start([], { id: 'boom-1' });
    await expect(h.result()).rejects.toMatchObject({ message: 'kaput', code: 'E_KAPUT' });
    const info = await os.workflows.get('boom-1');
    expect(info.status).toBe('error');
    expect(info.error?.message).toBe('kaput');
  });

  it('retries a failing step with backoff and reports exhaustion clearly', async () => {
    const os = await openTestOS();
    let calls = 0;
    const flaky = os.workflows.step(
      'flaky',
      async () => {
        calls++;
        if (calls < 3) throw new Error(`attempt ${calls} failed`);
        return calls;
      },
      { retries: 3, backoffMs: 5 },
    );
    const never = os.workflows.step(
      'never',
      async () => {
        throw new Error('down');
      },
      { retries: 2, backoffMs: 1 },
    );
    const flow = os.workflows.workflow('retrying', async (ctx) => {
      const n = await ctx.call(flaky);
      try {
        await ctx.call(never);
      } catch (err) {
        return { n, code: (err as TableOSError).code, msg: (err as Error).message };
      }
      return { n };
    });
    const out = await (await flow.start([])).result();
    expect(out).toEqual({
      n: 3,
      code: 'TABLEOS_WORKFLOW_STEP_RETRIES_EXHAUSTED',
      msg: 'step never failed 3 times, its retry limit; last error: down',
    });
  });

  it('procedures are exactly-once: a re-run returns the recorded result and writes nothing', async () => {
    const os = await openTestOS();
    await os.sql`create table hits (wf text, n serial)`;
    const hit = os.workflows.procedure(
      'hit',
      async (tx, wf: string) => {
        await tx`insert into hits (wf) values (${wf})`;
        const [r] = await tx<{ c: number }[]>`select count(*)::int as c from hits where wf = ${wf}`;
        return r!.c;
      },
      { isolation: 'serializable' },
    );
    const flow = os.workflows.workflow('hitter', async (ctx) => [
      await ctx.call(hit, ctx.workflowId),
      await ctx.call(hit, ctx.workflowId),
    ]);
    expect(await (await flow.start([], { id: 'h1' })).result()).toEqual([1, 2]);
    // Fork from position 1: position 0 is replayed (no write), position 1 runs again.
    const forked = await os.workflows.fork('h1', { fromStep: 1, newId: 'h1-fork' });
    expect(forked).toBe('h1-fork');
    expect(await os.workflows.handle('h1-fork').result({ timeoutMs: 10_000 })).toEqual([1, 1]);
    const [c] = await os.sql<{ c: number }[]>`select count(*)::int as c from hits`;
    expect(c!.c).toBe(3);
  });
});
