/* eslint-disable @typescript-eslint/require-await -- registered functions are async by contract; these do no I/O */
import { describe, expect, it } from 'vitest';
import { deserialize, MAX_PAYLOAD_BYTES, serialize } from '../../src/workflows/serialize.js';
import { openTestOS } from '../support/db.js';

async function counts(os: Awaited<ReturnType<typeof openTestOS>>) {
  const [r] = await os.sql<{ w: number; c: number }[]>`
    select (select count(*)::int from tableos.workflow) as w, (select count(*)::int from tableos.workflow_call) as c`;
  return r;
}

describe('workflows: serialization', () => {
  it('round-trips JSON plus Date, BigInt, Map, Set, Uint8Array, Error and undefined', () => {
    const err = Object.assign(new TypeError('bad'), { code: 'E1' });
    const v = {
      s: 'x',
      n: 1.5,
      inf: -Infinity,
      d: new Date('2024-01-02T03:04:05.678Z'),
      b: -(2n ** 65n),
      m: new Map<unknown, unknown>([
        [1, new Set(['a'])],
        ['k', { deep: [new Uint8Array([0, 255])] }],
      ]),
      u: undefined,
      arr: [undefined, null, 2],
      tagged: { $t: 'Date', v: 'not a date' },
      e: err,
    };
    const back = deserialize(serialize(v, 'test')) as typeof v;
    expect(back.d).toEqual(v.d);
    expect(back.b).toBe(v.b);
    expect(back.inf).toBe(-Infinity);
    expect(back.m).toEqual(v.m);
    expect('u' in back).toBe(true);
    expect(back.arr).toEqual([undefined, null, 2]);
    expect(back.tagged).toEqual({ $t: 'Date', v: 'not a date' });
    expect(back.e).toBeInstanceOf(Error);
    expect(back.e.message).toBe('bad');
    expect(back.e.name).toBe('TypeError');
    expect((back.e as unknown as { code: string }).code).toBe('E1');
    expect(serialize(undefined, 'x')).toBeNull();
  });

  it('refuses what it cannot store, naming where it is', () => {
    class Point {
      x = 1;
    }
    expect(() => serialize({ a: [() => 1] }, 'input')).toThrow(
      /input cannot be stored: value\.a\[0\] is a function/,
    );
    expect(() => serialize({ p: new Point() }, 'input')).toThrow(
      /value\.p is an instance of class Point/,
    );
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(() => serialize(cyc, 'input')).toThrow(/cycle/);
    expect(() => serialize('x'.repeat(MAX_PAYLOAD_BYTES + 1), 'input')).toThrow(
      expect.objectContaining({ code: 'TABLEOS_WORKFLOW_PAYLOAD_TOO_LARGE' }) as Error,
    );
  });
});

describe('workflows: bad input leaves state as it was', () => {
  it('rejects unknown names and ids, bad arguments and oversize payloads', async () => {
    const os = await openTestOS();
    const wf = os.workflows;
    const step = wf.step('s', async (x: number) => x);
    const flow = wf.workflow(
      'two_args',
      async (ctx, a: number, b: number) => (await ctx.call(step, a)) + b,
    );
    const before = await counts(os);

    await expect(wf.start('nope', [])).rejects.toMatchObject({ code: 'TABLEOS_WORKFLOW_UNKNOWN' });
    await expect(flow.start([1] as unknown as [number, number])).rejects.toMatchObject({
      code: 'TABLEOS_WORKFLOW_BAD_ARGUMENT',
      message: 'workflow two_args expects 2 arguments, got 1',
    });
    await expect(flow.start(5 as unknown as [number, number])).rejects.toMatchObject({
      code: 'TABLEOS_WORKFLOW_BAD_ARGUMENT',
    });
    await expect(flow.start([1, (() => 2) as unknown as number])).rejects.toMatchObject({
      code: 'TABLEOS_WORKFLOW_NOT_SERIALIZABLE',
    });
    await expect(
      flow.start([1, 'y'.repeat(MAX_PAYLOAD_BYTES) as unknown as number]),
    ).rejects.toMatchObject({
      code: 'TABLEOS_WORKFLOW_PAYLOAD_TOO_LARGE',
    });
    for (const id of [
      '',
      'a b',
      "x'; drop table tableos.workflow; --",
      'z'.repeat(256),
      'new\nline',
    ]) {
      await expect(flow.start([1, 2], { id })).rejects.toMatchObject({
        code: 'TABLEOS_WORKFLOW_BAD_ARGUMENT',
      });
    }
    await expect(flow.start([1, 2], { timeoutMs: -1 })).rejects.toMatchObject({
      code: 'TABLEOS_WORKFLOW_BAD_ARGUMENT',
    });
    await expect(wf.get('missing')).rejects.toMatchObject({ code: 'TABLEOS_WORKFLOW_NOT_FOUND' });
    await expect(wf.steps('missing')).rejects.toMatchObject({ code: 'TABLEOS_WORKFLOW_NOT_FOUND' });
    await expect(wf.cancel('missing')).rejects.toMatchObject({
      code: 'TABLEOS_WORKFLOW_NOT_FOUND',
    });
    await expect(wf.resume('missing')).rejects.toMatchObject({
      code: 'TABLEOS_WORKFLOW_NOT_FOUND',
    });
    await expect(wf.fork('missing')).rejects.toMatchObject({ code: 'TABLEOS_WORKFLOW_NOT_FOUND' });
    await expect(wf.handle('missing').result()).rejects.toMatchObject({
      code: 'TABLEOS_WORKFLOW_NOT_FOUND',
    });
    await expect(wf.list({ status: 'bogus' as never })).rejects.toMatchObject({
      code: 'TABLEOS_WORKFLOW_BAD_ARGUMENT',
    });
    await expect(wf.list({ limit: 0 })).rejects.toMatchObject({
      code: 'TABLEOS_WORKFLOW_BAD_ARGUMENT',
    });
    await expect(wf.gc({ olderThanMs: -5 })).rejects.toMatchObject({
      code: 'TABLEOS_WORKFLOW_BAD_ARGUMENT',
    });
    expect(() => wf.step('s', async () => 1)).toThrow(
      expect.objectContaining({ code: 'TABLEOS_WORKFLOW_CONFLICT' }) as Error,
    );
    expect(() => wf.workflow('has space', async () => 1)).toThrow(/name must be/);
    expect(() => wf.step('nofn', 42 as never)).toThrow(/needs a function/);
    expect(await counts(os)).toEqual(before);

    // Calling a step outside a workflow.
    await expect(step.run(1)).rejects.toMatchObject({ code: 'TABLEOS_WORKFLOW_OUTSIDE' });
    // An id already used by another workflow.
    await (await flow.start([1, 2], { id: 'taken' })).result();
    const other = wf.workflow('other', async () => 0);
    await expect(other.start([], { id: 'taken' })).rejects.toMatchObject({
      code: 'TABLEOS_WORKFLOW_CONFLICT',
    });
    expect((await wf.get('taken')).output).toBe(3);
  });

  it('a step result that cannot be stored fails the step with a clear error', async () => {
    const os = await openTestOS();
    const bad = os.workflows.step('bad_result', async () => ({ f: () => 1 }));
    const flow = os.workflows.workflow('uses_bad', async (ctx) => ctx.call(bad));
    const h = await flow.start([], { id: 'ub' });
    await expect(h.result()).rejects.toMatchObject({ code: 'TABLEOS_WORKFLOW_NOT_SERIALIZABLE' });
    const [s] = await os.workflows.steps('ub');
    expect(s!.status).toBe('error');
    expect(s!.error?.message).toMatch(/result of step bad_result cannot be stored/);
  });

  it('a pure client cannot run workflows but can enqueue them', async () => {
    const os = await openTestOS({ executor: false });
    const flow = os.workflows.workflow('q', async () => 1);
    await expect(flow.start([])).rejects.toMatchObject({ code: 'TABLEOS_WORKFLOW_NOT_EXECUTOR' });
    await flow.start([], { id: 'q-1', enqueue: true });
    expect((await os.workflows.get('q-1')).status).toBe('enqueued');
  });
});
