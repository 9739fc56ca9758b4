// tableos top: --once prints one frame whose numbers are what SQL says; live, under a
// pseudo-terminal (util-linux script), it redraws and quits on q.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { CLI, runCli } from '../support/cli.js';
import { createTestDatabase, openTestOS } from '../support/db.js';

it('prints one frame with --once, its values equal to SQL', async () => {
  const url = await createTestDatabase();
  const os = await openTestOS({ databaseUrl: url });
  const flow = os.workflows.workflow('top_flow', (_ctx, n: number) => Promise.resolve(n));
  for (let i = 0; i < 4; i++) await (await flow.start([i])).result();
  await os.scheduler.queue('topq');
  await os.scheduler.pause('topq');
  for (let i = 0; i < 2; i++) await os.scheduler.enqueue('topq', 'noop');

  const r = await runCli(['top', '--once'], { DATABASE_URL: url });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.startsWith('TableOS top  ')).toBe(true);
  expect(r.stdout).not.toContain('q to quit');
  const [alive] = await os.sql<{ n: number }[]>`
    select count(*)::int as n from tableos.executor where status = 'alive'`;
  expect(r.stdout).toContain(`executors: ${alive!.n} alive`);
  expect(r.stdout).toContain(os.executor!.id);
  const [depth] = await os.sql<{ n: number }[]>`
    select count(*)::int as n from tableos.task where queue = 'topq' and state = 'queued'`;
  expect(r.stdout).toMatch(new RegExp(`^ topq +\\| fifo +\\| yes +\\| +${depth!.n} \\| +0$`, 'm'));
  expect(r.stdout).toContain(`tasks: queued ${depth!.n}  assigned 0  running 0`);
  const [ok] = await os.sql<{ n: number }[]>`
    select count(*)::int as n from tableos.workflow where status = 'success'`;
  expect(r.stdout).toContain(`success ${ok!.n}  error 0`);
  expect(r.stdout).toContain('started 0.1/s (last minute)');
});

it.skipIf(!existsSync('/usr/bin/script'))(
  'redraws under a terminal and quits on q',
  async () => {
    const url = await createTestDatabase();
    const child = spawn(
      '/usr/bin/script',
      ['-qfec', `${process.execPath} ${CLI} top --interval 200`, '/dev/null'],
      { env: { ...process.env, DATABASE_URL: url, TABLEOS_LOG_LEVEL: 'warn' }, stdio: 'pipe' },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      // Two frames drawn: the view refreshes by itself.
      await expect
        .poll(() => out.split('TableOS top').length - 1, { timeout: 20_000, interval: 50 })
        .toBeGreaterThanOrEqual(2);
      expect(out).toContain('(q to quit)');
      expect(out).toContain('\x1b[H\x1b[2J');
      child.stdin.write('q');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  },
  30_000,
);
