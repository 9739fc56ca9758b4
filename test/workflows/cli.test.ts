/* eslint-disable @typescript-eslint/require-await -- registered functions are async by contract; these do no I/O */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestDatabase, openTestOS } from '../support/db.js';
import { waitFor } from '../support/wait.js';

describe('tableos wf', () => {
  it('lists, shows, cancels, resumes, forks and collects runs', async () => {
    const url = await createTestDatabase();
    const os = await openTestOS({ databaseUrl: url });
    const add = os.workflows.step('add1', async (x: number) => x + 1);
    const gate = { open: false };
    const flow = os.workflows.workflow('cli_flow', async (ctx, x: number) => {
      const y = await ctx.call(add, x);
      while (!gate.open) await ctx.sleep(20);
      return y;
    });
    gate.open = true;
    await (await flow.start([1], { id: 'c-1' })).result();
    gate.open = false;
    await flow.start([5], { id: 'c-2' });
    const env = { DATABASE_URL: url };

    const list = await runCli(['wf', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/c-2 +\| cli_flow \| pending/);
    expect(list.stdout).toMatch(/c-1 +\| cli_flow \| success/);
    expect(list.stdout).toContain('(2 rows)');
    const only = await runCli(['wf', 'list', '--status', 'success', '--json'], env);
    expect(
      only.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id),
    ).toEqual(['c-1']);
    const get = await runCli(['wf', 'get', 'c-1'], env);
    expect(get.stdout).toMatch(/^status +success$/m);
    expect(get.stdout).toMatch(/^output +2$/m);
    const steps = await runCli(['wf', 'steps', 'c-1'], env);
    expect(steps.stdout).toMatch(/0 \| step +\| add1 \| success/);

    expect((await runCli(['wf', 'cancel', 'c-2'], env)).stdout.trim()).toBe('cancelled c-2');
    await expect(os.workflows.handle('c-2').result({ timeoutMs: 5000 })).rejects.toMatchObject({
      code: 'TABLEOS_WORKFLOW_CANCELLED',
    });
    gate.open = true;
    expect((await runCli(['wf', 'resume', 'c-2'], env)).stdout.trim()).toBe('resumed c-2');
    expect(await os.workflows.handle('c-2').result({ timeoutMs: 5000 })).toBe(6);

    const fork = await runCli(['wf', 'fork', 'c-1', '--from', '0', '--id', 'c-3'], env);
    expect(fork.stdout.trim()).toBe('c-3');
    expect(await os.workflows.handle('c-3').result({ timeoutMs: 5000 })).toBe(2);

    expect((await runCli(['wf', 'gc', '--older-than', '1h'], env)).stdout.trim()).toBe('deleted 0');
    await waitFor(
      async () => {
        const [r] = await os.sql<{ n: number }[]>`
          select count(*)::int n from tableos.workflow
           where greatest(created_at, updated_at) < clock_timestamp() - interval '10 milliseconds'`;
        return r!.n === 3;
      },
      { what: 'the runs to be older than 10 ms' },
    );
    expect(
      (await runCli(['wf', 'gc', '--older-than', '10ms', '--batch', '2'], env)).stdout.trim(),
    ).toBe('deleted 3');

    const missing = await runCli(['wf', 'get', 'nope'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no workflow with id "nope" [TABLEOS_WORKFLOW_NOT_FOUND]');
    const badDur = await runCli(['wf', 'gc', '--older-than', 'soon'], env);
    expect(badDur.code).toBe(1);
    expect(badDur.stderr).toContain('invalid duration "soon"');
    expect((await runCli(['wf', 'list', '--bogus'], env)).code).toBe(2);
    expect((await runCli(['wf', 'frobnicate'], env)).code).toBe(2);
  });
});
