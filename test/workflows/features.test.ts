/* eslint-disable @typescript-eslint/require-await -- registered functions are async by contract; these do no I/O */
import { describe, expect, it } from 'vitest';
import type { TableOSError } from '../../src/kernel/errors.js';
import type { TableOS } from '../../src/tableos.js';
import { openTestOS } from '../support/db.js';
import { waitFor } from '../support/wait.js';

/** The status of a run, or undefined while it does not exist. */
async function statusOf(os: TableOS, id: string): Promise<string | undefined> {
  const [r] = await os.sql<{ status: string }[]>`
    select status from tableos.workflow where id = ${id}`;
  return r?.status;
}

describe('workflows: time, events, children, cancellation', () => {
  it('records now/random/uuid and sleeps durably, replaying them after a fork', async () => {
    const os = await openTestOS();
    const flow = os.workflows.workflow('clock', async (ctx) => {
      const t0 = await ctx.now();
      const r = await ctx.random();
      const u = await ctx.uuid();
      await ctx.sleep(150);
      const t1 = await ctx.now();
      return { t0, r, u, slept: t1 - t0 };
    });
    const out = await (await flow.start([], { id: 'clock-1' })).result();
    expect(out.slept).toBeGreaterThanOrEqual(150);
    expect(out.u).toMatch(/^[0-9a-f-]{36}$/);
    const steps = await os.workflows.steps('clock-1');
    expect(steps.map((s) => s.kind)).toEqual(['now', 'random', 'uuid', 'sleep', 'now']);
    // The sleep records its wake-up time, 150 ms after it began.
    const wake = steps[3]!.output as number;
    expect(wake - out.t0).toBeGreaterThanOrEqual(150);
    // A fork replaying everything returns the recorded values (the times too, so it did not
    // sleep again).
    await os.workflows.fork('clock-1', { newId: 'clock-2' });
    const again = await os.workflows.handle<typeof out>('clock-2').result({ timeoutMs: 10_000 });
    expect(again).toEqual(out);
  });

  it('publishes events that others read or wait for, with a timeout', async () => {
    const os = await openTestOS();
    const pub = os.workflows.workflow('pub', async (ctx, v: string) => {
      await ctx.sleep(100);
      await ctx.setEvent('state', { v, at: new Date(5) });
      return 'done';
    });
    const sub = os.workflows.workflow('sub', async (ctx, from: string) => {
      const got = await ctx.getEvent(from, 'state', { timeoutMs: 5000 });
      const none = await ctx.getEvent(from, 'missing', { timeoutMs: 50 });
      return { got, none };
    });
    await pub.start(['x'], { id: 'pub-1' });
    const s = await sub.start(['pub-1'], { id: 'sub-1' });
    expect(await os.workflows.getEvent('pub-1', 'state', { timeoutMs: 5000 })).toEqual({
      v: 'x',
      at: new Date(5),
    });
    expect(await s.result()).toEqual({ got: { v: 'x', at: new Date(5) }, none: undefined });
    expect(await os.workflows.getEvent('pub-1', 'nope', { timeoutMs: 30 })).toBeUndefined();
  });

  it('runs child workflows and cancels them with their parent', async () => {
    const os = await openTestOS();
    const leaf = os.workflows.workflow('leaf', async (ctx, n: number) => {
      await ctx.sleep(n);
      return n;
    });
    const parent = os.workflows.workflow('parent', async (ctx) => {
      const quick = await ctx.call(leaf, 10);
      const slow = await ctx.startChild(leaf, [60_000]);
      return quick + (await slow.result());
    });
    const h = await parent.start([], { id: 'p-1' });
    await waitFor(async () => (await statusOf(os, 'p-1:1')) === 'pending', {
      what: 'the slow child to start',
    });
    const cancelled = await os.workflows.cancel('p-1');
    expect(cancelled.sort()).toEqual(['p-1', 'p-1:1']);
    await expect(h.result()).rejects.toMatchObject({ code: 'TABLEOS_WORKFLOW_CANCELLED' });
    expect((await os.workflows.get('p-1:0')).status).toBe('success');
    expect((await os.workflows.get('p-1:1')).status).toBe('cancelled');
    expect((await os.workflows.get('p-1:1')).parentId).toBe('p-1');
    // Cancelling a finished run changes nothing.
    expect(await os.workflows.cancel('p-1:0')).toEqual([]);
  });

  it('times out a run and its children, then resume runs it to the end', async () => {
    const os = await openTestOS();
    let wait = 60_000;
    const leaf = os.workflows.workflow('tleaf', async (ctx) => {
      await ctx.sleep(wait);
      return 'leaf';
    });
    const top = os.workflows.workflow('ttop', async (ctx) => `top+${await ctx.call(leaf)}`);
    const h = await top.start([], { id: 't-1', timeoutMs: 300 });
    await expect(h.result({ timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'TABLEOS_WORKFLOW_TIMEOUT',
    });
    expect((await os.workflows.get('t-1')).status).toBe('cancelled');
    expect((await os.workflows.get('t-1:0')).status).toBe('cancelled');
    expect((await os.workflows.get('t-1:0')).deadline).not.toBeNull();
    // The recorded sleep still holds 60 s; resume after shortening it in the code is a fork.
    wait = 10;
    const forked = await os.workflows.fork('t-1', { fromStep: 0, newId: 't-2' });
    expect(await os.workflows.handle(forked).result({ timeoutMs: 10_000 })).toBe('top+leaf');
  });

  it('resumes a cancelled run from where it stopped', async () => {
    const os = await openTestOS();
    let effects = 0;
    const eff = os.workflows.step('eff', async () => ++effects);
    const gate = { open: false };
    const flow = os.workflows.workflow('gated', async (ctx) => {
      const a = await ctx.call(eff);
      while (!gate.open) await ctx.sleep(20);
      return a;
    });
    const h = await flow.start([], { id: 'g-1' });
    // Cancelled only once the effect's checkpoint is written, so resume must not redo it.
    await waitFor(async () => (await os.workflows.steps('g-1')).some((s) => s.name === 'eff'), {
      what: 'the step to be recorded',
    });
    expect(await os.workflows.cancel('g-1')).toEqual(['g-1']);
    await expect(h.result()).rejects.toMatchObject({ code: 'TABLEOS_WORKFLOW_CANCELLED' });
    gate.open = true;
    expect(await os.workflows.resume('g-1')).toEqual(['g-1']);
    expect(await os.workflows.handle('g-1').result({ timeoutMs: 10_000 })).toBe(1);
    expect(effects).toBe(1);
    await expect(os.workflows.resume('g-1')).rejects.toMatchObject({
      code: 'TABLEOS_WORKFLOW_FINISHED',
    });
  });

  it('stops with a non-determinism error naming the position and both names', async () => {
    const os = await openTestOS();
    const a = os.workflows.step('a', async () => 'a');
    const b = os.workflows.step('b', async () => 'b');
    let useB = false;
    const flow = os.workflows.workflow('changing', async (ctx) => {
      await ctx.call(a);
      return ctx.call(useB ? b : a);
    });
    expect(await (await flow.start([], { id: 'nd-1' })).result()).toBe('a');
    useB = true;
    const forked = await os.workflows.fork('nd-1', { newId: 'nd-2' });
    const err = (await os.workflows
      .handle(forked)
      .result({ timeoutMs: 10_000 })
      .catch((e: unknown) => e)) as TableOSError;
    expect(err.code).toBe('TABLEOS_WORKFLOW_NONDETERMINISM');
    expect(err.message).toContain('at position 1');
    expect(err.message).toContain('step a');
    expect(err.message).toContain('step b');
    expect((await os.workflows.get('nd-2')).status).toBe('error');
    // Still recoverable: fork from before the changed position runs the new code.
    const fixed = await os.workflows.fork('nd-2', { fromStep: 1, newId: 'nd-3' });
    expect(await os.workflows.handle(fixed).result({ timeoutMs: 10_000 })).toBe('b');
  });

  it('lists with filters and paging, and garbage-collects finished runs in batches', async () => {
    const os = await openTestOS();
    const w = os.workflows.workflow('listed', async (_ctx, n: number) => n);
    for (let i = 0; i < 5; i++) await (await w.start([i], { id: `l-${i}` })).result();
    const all = await os.workflows.list({ name: 'listed' });
    expect(all.map((r) => r.id)).toEqual(['l-4', 'l-3', 'l-2', 'l-1', 'l-0']);
    const page = await os.workflows.list({ name: 'listed', limit: 2, offset: 2 });
    expect(page.map((r) => r.id)).toEqual(['l-2', 'l-1']);
    expect(await os.workflows.list({ status: 'error' })).toEqual([]);
    expect(await os.workflows.list({ since: new Date(Date.now() + 60_000) })).toEqual([]);
    expect(await os.workflows.gc({ olderThanMs: 60_000 })).toBe(0);
    await waitFor(
      async () => {
        const [r] = await os.sql<{ n: number }[]>`
          select count(*)::int n from tableos.workflow
           where greatest(created_at, updated_at) < clock_timestamp() - interval '10 milliseconds'`;
        return r!.n === 5;
      },
      { what: 'the runs to be older than 10 ms' },
    );
    expect(await os.workflows.gc({ olderThanMs: 10, batchSize: 2 })).toBe(5);
    expect(await os.workflows.list()).toEqual([]);
    const [c] = await os.sql<{ n: number }[]>`select count(*)::int as n from tableos.workflow_call`;
    expect(c!.n).toBe(0);
  });
});
