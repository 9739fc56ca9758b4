import { describe, expect, it } from 'vitest';
import { TableOSClient } from '../../src/client.js';
import { createTestDatabase, openTestOS } from '../support/db.js';

describe('enqueued runs and executeById (the dispatcher entry point)', () => {
  it('creates enqueued runs without running them, and runs them by id once', async () => {
    const url = await createTestDatabase();
    const os = await openTestOS({ databaseUrl: url });
    const ran: number[] = [];
    // Input 0 naps first, so that a run of it can be left behind by a node that stops.
    const define = (wf: typeof os.workflows, log: number[]) =>
      wf.workflow('job', async (ctx, x: number) => {
        if (x === 0) await ctx.sleep(200);
        log.push(x);
        return x * 10;
      });
    const job = define(os.workflows, ran);
    await job.start([4], { id: 'j-1', enqueue: true });
    // Give os's takeover a pass over every claimable run: a node starts j-0 and stops, and
    // os claims and finishes it. An enqueued run is not claimable, so j-1 stays where it is.
    const other = await openTestOS({ databaseUrl: url });
    await define(other.workflows, []).start([0], { id: 'j-0' });
    await other.close();
    expect(await os.workflows.handle('j-0').result({ timeoutMs: 10_000 })).toBe(0);
    expect((await os.workflows.get('j-0')).executorId).toBe(os.executor!.id);
    expect(ran).toEqual([0]);
    expect((await os.workflows.get('j-1')).status).toBe('enqueued');

    // Another process, with no code registered, enqueues by name and watches.
    const client = await TableOSClient.open({ databaseUrl: url });
    try {
      await client.enqueue('job', [7], { id: 'j-2' });
      expect((await client.list({ status: 'enqueued' })).map((w) => w.id).sort()).toEqual([
        'j-1',
        'j-2',
      ]);
      const waiting = client.handle('j-2').result({ timeoutMs: 5000 });
      expect(await os.workflows.executeById('j-1')).toEqual({ status: 'success', value: 40 });
      expect(await os.workflows.executeById('j-2')).toEqual({ status: 'success', value: 70 });
      expect(await waiting).toBe(70);
      // Executing a finished run again returns its stored outcome and runs nothing.
      expect(await os.workflows.executeById('j-1')).toEqual({ status: 'success', value: 40 });
      expect(ran).toEqual([0, 4, 7]);
      await expect(os.workflows.executeById('nope')).rejects.toMatchObject({
        code: 'TABLEOS_WORKFLOW_NOT_FOUND',
      });
      await client.enqueue('not_registered', [], { id: 'j-3' });
      await expect(os.workflows.executeById('j-3')).rejects.toMatchObject({
        code: 'TABLEOS_WORKFLOW_UNKNOWN',
      });
      expect((await client.get('j-3')).status).toBe('enqueued');
      await expect(client.handle('j-1').result({ timeoutMs: 1000 })).resolves.toBe(40);
      await expect(client.handle('j-3').result({ timeoutMs: 50 })).rejects.toMatchObject({
        code: 'TABLEOS_WORKFLOW_RESULT_TIMEOUT',
      });
    } finally {
      await client.close();
    }
  });
});
