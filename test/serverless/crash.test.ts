// SIGKILLs a real executor process at each named fault point (and at a random moment), lets
// another executor take over, and checks that the graph completes, every procedure node's
// write happened exactly once, and no node that had committed ran again.
import fs from 'node:fs';
import os_ from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, openTestOS } from '../support/db.js';
import { startFixture, type RunningFixture } from '../support/spawn.js';
import { registerCrashFunctions } from './fixtures/functions.js';

const EXECUTOR = fileURLToPath(new URL('./fixtures/executor.ts', import.meta.url));
const WRITERS = 6;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A file the executors append their starts to, removed after the file's tests. */
function startsLog(): string {
  const dir = fs.mkdtempSync(path.join(os_.tmpdir(), 'dag-crash-'));
  dirs.push(dir);
  const log = path.join(dir, 'starts.log');
  fs.writeFileSync(log, '');
  return log;
}

function executor(url: string, log: string, fault?: string): RunningFixture {
  return startFixture(EXECUTOR, {
    env: { DATABASE_URL: url, TABLEOS_LOG_LEVEL: 'silent', DAG_LOG: log, TABLEOS_FAULT: fault },
    timeoutMs: 60_000,
  });
}

function ready(f: RunningFixture): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    f.child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    void f.exited.then(
      (e) => reject(new Error(`executor exited before ready: ${e.stderr}`)),
      reject,
    );
  });
}

async function crashAndRecover(kill: { fault?: string; afterMs?: number }) {
  const url = await createTestDatabase();
  const os = await openTestOS({ databaseUrl: url, executor: false });
  await os.sql`create table public.effects (node text not null, pid int not null)`;
  registerCrashFunctions(os, undefined);
  const log = startsLog();

  const first = executor(url, log, kill.fault);
  await ready(first);
  const writers = Array.from({ length: WRITERS }, (_, i) => `w${i}`);
  const h = await os.serverless.submit(
    {
      nodes: [
        { id: 'seed', fn: 'seed', args: [10] },
        ...writers.map((id, i) => ({ id, fn: 'write', args: [i + 1] })),
        { id: 'note', fn: 'note' },
        { id: 'total', fn: 'total' },
      ],
      edges: [
        ...writers.map((w) => ['seed', w] as [string, string]),
        ['seed', 'note'],
        ...writers.map((w) => [w, 'total'] as [string, string]),
      ],
    },
    { id: 'crash' },
  );
  if (kill.afterMs !== undefined) setTimeout(() => first.child.kill('SIGKILL'), kill.afterMs);
  const firstExit = await first.exited;
  const second = executor(url, log);
  try {
    // 10 * (1 + ... + 6)
    expect(await h.result({ timeoutMs: 45_000 })).toEqual({ note: 'noted', total: 210 });
  } finally {
    second.child.kill('SIGKILL');
    await second.exited;
  }
  if (kill.fault !== undefined) expect(firstExit.signal).toBe('SIGKILL');

  const effects = await os.sql<{ node: string; n: number; pid: number }[]>`
    select node, count(*)::int n, min(pid) pid from public.effects group by node order by node`;
  expect(effects.map((e) => [e.node, e.n])).toEqual(
    [...writers, 'total'].sort().map((n) => [n, 1]),
  );
  // A node committed by the first process never started in the second.
  const starts = fs
    .readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' '));
  const firstPid = first.child.pid;
  const committedByFirst = effects.filter((e) => e.pid === firstPid).map((e) => e.node);
  for (const node of committedByFirst) {
    const again = starts.filter(([, n, pid]) => n === node && Number(pid) !== firstPid);
    expect(again, `${node} ran again after its commit`).toEqual([]);
  }
  const d = await h.get();
  expect(d.nodes.every((n) => n.status === 'done')).toBe(true);
  return { committedByFirst, firstPid, starts: starts.length };
}

describe('crash safety: SIGKILL an executor, another takes over', () => {
  const points = [
    'serverless:node-begun@3',
    'serverless:before-finish@3',
    'serverless:node-committed@1',
    'serverless:node-committed@4',
    'serverless:step-effect-done@1',
    'scheduler:complete-committed@2',
  ];
  for (const fault of points) {
    it(`killed at ${fault}: completes, each write once, no committed node again`, async () => {
      const r = await crashAndRecover({ fault });
      // Four commits (the seed, then three of the writers and the step): the writers among
      // them were committed by the first process and must not run again.
      if (fault === 'serverless:node-committed@4')
        expect(r.committedByFirst.length).toBeGreaterThanOrEqual(2);
    });
  }

  it('killed at a random moment', async () => {
    await crashAndRecover({ afterMs: 20 + Math.floor(Math.random() * 300) });
  });

  it('loses the answer of committed batches (~disconnect): each write once, no node twice', async () => {
    const url = await createTestDatabase();
    const os = await openTestOS({ databaseUrl: url, executor: false });
    await os.sql`create table public.effects (node text not null, pid int not null)`;
    registerCrashFunctions(os, undefined);
    const log = startsLog();
    const only = executor(url, log, 'serverless:node-committed@2~disconnect');
    await ready(only);
    const writers = Array.from({ length: WRITERS }, (_, i) => `w${i}`);
    const h = await os.serverless.submit(
      {
        nodes: [
          { id: 'seed', fn: 'seed', args: [10] },
          ...writers.map((id, i) => ({ id, fn: 'write', args: [i + 1] })),
          { id: 'total', fn: 'total' },
        ],
        edges: [
          ...writers.map((w) => ['seed', w] as [string, string]),
          ...writers.map((w) => [w, 'total'] as [string, string]),
        ],
      },
      { id: 'lost' },
    );
    try {
      expect(await h.result({ timeoutMs: 30_000 })).toEqual({ total: 210 });
    } finally {
      only.child.kill('SIGKILL');
      await only.exited;
    }
    const [e] = await os.sql<{ rows: number; nodes: number }[]>`
      select count(*)::int rows, count(distinct node)::int nodes from public.effects`;
    expect(e).toEqual({ rows: WRITERS + 1, nodes: WRITERS + 1 });
    // Every node's function ran once: the retry found the committed batch and ran nothing.
    const starts = fs.readFileSync(log, 'utf8').trim().split('\n');
    expect(starts.length).toBe(WRITERS + 2);
  });
});
