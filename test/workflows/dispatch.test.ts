/* eslint-disable @typescript-eslint/require-await -- registered functions are async by contract; these do no I/O */
import { describe, expect, it } from 'vitest';
import { TableOSClient } from '../../src/client.js';
import { createTestDatabase, openTestOS } from '../support/db.js';

describe('enqueued runs and executeById (the dispatcher entry point)', () => {
  it('creates enqueued runs without running them, and runs them by id once', async () => {
    const url = await createTestDatabase();
    const os = await openTestOS({ databaseUrl: url });
    let runs = 0;
    const job = os.workflows.workflow('job', async (_ctx, x: number) => {
      runs++;
      return x * 10;
    });
    await job.start([4], { id: 'j-1', enqueue: true });
    await new Promise((r) => setTimeout(r, 100));
    expect(runs).toBe(0);
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
      expect(runs).toBe(2);
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
