// The file system survives the database going away: every operation runs again on a fresh
// connection, and a retry after a commit whose reply was lost finds that commit instead of
// doing the work twice or failing on its own result (EEXIST, ENOENT).
import fsp from 'node:fs/promises';
import nodeOs from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createReadStream,
  createWriteStream,
  FsNotFoundError,
  type FileSystem,
} from '../../src/fs/index.js';
import type { TableOS } from '../../src/tableos.js';
import { createTestDatabase, openTestOS } from '../support/db.js';
import { runFixture } from '../support/spawn.js';
import { expectErrno } from './helpers.js';
import { streamData } from './fixtures/stream-data.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/reconnect.ts', import.meta.url));
const RETRYING = 'lost the database connection; retrying';

const pools: postgres.Sql[] = []; // the connections that terminate the node's backends
const tmpDirs: string[] = [];
afterAll(async () => {
  for (const p of pools) await p.end();
  for (const d of tmpDirs) await fsp.rm(d, { recursive: true, force: true });
});

interface LogLine {
  level: number;
  msg: string;
  what?: string;
}

/** Pino JSON lines, from a child's stderr or from a logger writing into lines. */
function logLines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

async function tokens(os: TableOS): Promise<string[]> {
  const rows = await os.sql<{ token: string }[]>`
    select token from tableos.op_result order by token`;
  return rows.map((r) => r.token);
}

const text = async (fs: FileSystem, p: string) => (await fs.readFile(p)).toString();

interface Report {
  result: { value?: unknown; errno?: string };
  recorded: string[];
  after: string[];
}

/** Runs the fixture's OP on url with fault armed; returns its report and its log lines. */
async function runOp(url: string, op: string, fault: string, env: Record<string, string> = {}) {
  const run = await runFixture(FIXTURE, {
    env: { DATABASE_URL: url, OP: op, TABLEOS_FAULT: fault, ...env },
    timeoutMs: 45_000,
  });
  expect(run.code, run.stderr).toBe(0);
  return { report: JSON.parse(run.stdout.trim()) as Report, logs: logLines(run.stderr) };
}

interface Case {
  op: string;
  /** The statement whose reply is lost, as the retry names it in the log. */
  statement: string;
  fault?: string;
  /** Outcomes the operation itself leaves recorded (0 for a change that simply retries). */
  recorded?: number;
  setup?: (fs: FileSystem) => Promise<void>;
  check: (fs: FileSystem, value: unknown) => Promise<void>;
}

const tree = async (fs: FileSystem) => {
  await fs.mkdir('/t/y', { parents: true });
  await fs.writeFile('/t/x', 'x');
  await fs.writeFile('/t/y/z', 'z');
};

const cases: Case[] = [
  {
    op: 'mkdir',
    statement: 'tableos.fs_mkdir',
    check: async (fs, ino) => {
      const st = await fs.stat('/d');
      expect([st.type, st.ino]).toEqual(['directory', ino]);
    },
  },
  {
    op: 'mkdir -p',
    statement: 'tableos.fs_mkdir',
    check: async (fs, ino) => expect((await fs.stat('/p/q/r')).ino).toBe(ino),
  },
  {
    op: 'create',
    statement: 'tableos.fs_create_many',
    check: async (fs, ino) => {
      expect((await fs.stat('/f')).ino).toBe(ino);
      expect(await text(fs, '/f')).toBe('hello');
    },
  },
  {
    op: 'create batch',
    statement: 'tableos.fs_create_many',
    fault: 'fs:op-committed@2~disconnect',
    check: async (fs, inos) => {
      const want = await Promise.all(
        [0, 1, 2, 3, 4].map(async (i) => (await fs.stat(`/c${i}`)).ino),
      );
      expect(inos).toEqual(want);
      for (let i = 0; i < 5; i++) expect(await text(fs, `/c${i}`)).toBe(`file ${i}`);
    },
  },
  {
    op: 'writeFile',
    statement: 'tableos.fs_create_many',
    setup: (fs) => fs.writeFile('/f', 'old').then(() => undefined),
    check: async (fs, ino) => {
      expect((await fs.stat('/f')).ino).toBe(ino);
      expect(await text(fs, '/f')).toBe('new');
    },
  },
  {
    op: 'open wx',
    statement: 'tableos.fs_open',
    check: async (fs, ino) => {
      const st = await fs.stat('/x');
      expect([st.ino, st.size]).toEqual([ino, 0]);
    },
  },
  {
    op: 'appendFile',
    statement: 'tableos.fs_append',
    setup: (fs) => fs.writeFile('/log', 'a\n').then(() => undefined),
    check: async (fs, size) => {
      expect(size).toBe(4);
      expect(await text(fs, '/log')).toBe('a\nb\n');
    },
  },
  {
    op: 'handle append',
    statement: 'tableos.fs_pwrite',
    setup: (fs) => fs.writeFile('/log', 'a\n').then(() => undefined),
    check: async (fs, size) => {
      expect(size).toBe(4);
      expect(await text(fs, '/log')).toBe('a\nb\n');
    },
  },
  {
    op: 'unlink',
    statement: 'tableos.fs_unlink',
    setup: (fs) => fs.writeFile('/f', 'x').then(() => undefined),
    check: async (fs) => expect(await fs.exists('/f')).toBe(false),
  },
  {
    op: 'rmdir',
    statement: 'tableos.fs_rmdir',
    setup: (fs) => fs.mkdir('/d').then(() => undefined),
    check: async (fs) => expect(await fs.exists('/d')).toBe(false),
  },
  {
    op: 'rm -r',
    statement: 'tableos.fs_remove',
    setup: tree,
    check: async (fs, n) => {
      expect(n).toBe(4);
      expect(await fs.exists('/t')).toBe(false);
    },
  },
  {
    op: 'rename',
    statement: 'tableos.fs_rename',
    setup: (fs) => fs.writeFile('/a', 'A').then(() => undefined),
    check: async (fs) => {
      expect(await fs.exists('/a')).toBe(false);
      expect(await text(fs, '/b')).toBe('A');
    },
  },
  {
    op: 'link',
    statement: 'tableos.fs_link',
    setup: (fs) => fs.writeFile('/a', 'A').then(() => undefined),
    check: async (fs) => {
      const [a, b] = [await fs.stat('/a'), await fs.stat('/b')];
      expect([a.nlink, b.ino]).toEqual([2, a.ino]);
    },
  },
  {
    op: 'symlink',
    statement: 'tableos.fs_symlink',
    check: async (fs, ino) => {
      expect(await fs.readlink('/l')).toBe('/target');
      expect((await fs.lstat('/l')).ino).toBe(ino);
    },
  },
  {
    op: 'cp -r',
    statement: 'tableos.fs_copy',
    setup: tree,
    check: async (fs, n) => {
      expect(n).toBe(4);
      expect((await fs.walk('/u')).map((e) => e.path)).toEqual(['/u', '/u/x', '/u/y', '/u/y/z']);
      expect(await text(fs, '/u/y/z')).toBe('z');
    },
  },
  {
    op: 'import',
    statement: 'tableos.fs_put_many',
    fault: 'fs:import-after-batch~disconnect',
    check: async (fs, entries) => {
      expect(entries).toBe(5);
      const walked = (await fs.walk('/imp')).map((e) => `${e.path} ${e.type}`);
      expect(walked).toEqual([
        '/imp directory',
        '/imp/a file',
        '/imp/l symlink',
        '/imp/sub directory',
        '/imp/sub/b file',
      ]);
      expect(await text(fs, '/imp/sub/b')).toBe('bee');
      expect(await fs.readlink('/imp/l')).toBe('a');
    },
  },
  {
    // The second of three chunks: written again at its own offset, not after the third.
    op: 'stream',
    statement: 'tableos.fs_pwrite',
    fault: 'fs:stream-after-chunk@2~disconnect',
    check: async (fs, size) => {
      const want = streamData();
      expect(size).toBe(want.length);
      expect((await fs.readFile('/s')).equals(want)).toBe(true);
    },
  },
  {
    op: 'write',
    statement: 'tableos.fs_write',
    fault: 'fs:change-committed~disconnect',
    recorded: 0,
    setup: (fs) => fs.writeFile('/w', 'aaaa').then(() => undefined),
    check: async (fs, size) => {
      expect(size).toBe(4);
      expect(await text(fs, '/w')).toBe('aabb');
    },
  },
  {
    op: 'truncate',
    statement: 'tableos.fs_truncate',
    fault: 'fs:change-committed~disconnect',
    recorded: 0,
    setup: (fs) => fs.writeFile('/w', 'aaaa').then(() => undefined),
    check: async (fs) => expect(await text(fs, '/w')).toBe('a'),
  },
];

async function localTree(): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(nodeOs.tmpdir(), 'tableos-reconnect-'));
  tmpDirs.push(dir);
  await fsp.writeFile(path.join(dir, 'a'), 'ay');
  await fsp.mkdir(path.join(dir, 'sub'));
  await fsp.writeFile(path.join(dir, 'sub', 'b'), 'bee');
  await fsp.symlink('a', path.join(dir, 'l'));
  return dir;
}

describe('a committed statement whose reply was lost (~disconnect fault points)', () => {
  for (const c of cases) {
    const fault = c.fault ?? 'fs:op-committed~disconnect';
    it(`${c.op} (${fault}): succeeds once, and its recorded outcome is forgotten`, async () => {
      const url = await createTestDatabase();
      const os = await openTestOS({ databaseUrl: url, executor: false, poolSize: 2 });
      try {
        await c.setup?.(os.fs);
        // The setup's last token would wait for this node's next operation to be forgotten.
        await os.sql`delete from tableos.op_result`;
        const env = c.op === 'import' ? { LOCAL: await localTree() } : {};
        const { report, logs } = await runOp(url, c.op, fault, env);
        // The fault fired at the statement meant, once, and nothing worse was logged.
        expect(logs.filter((l) => l.msg === RETRYING)).toEqual([
          expect.objectContaining({ what: c.statement }),
        ]);
        expect(logs.filter((l) => l.level >= 50)).toEqual([]);
        expect(report.result.errno).toBeUndefined();
        await c.check(os.fs, report.result.value);
        // The operation recorded its outcome; the next change forgot it (and left its own).
        expect(report.recorded).toHaveLength(c.recorded ?? 1);
        expect(report.after).toHaveLength(1);
        expect(report.recorded).not.toContain(report.after[0]);
        expect(await tokens(os)).toEqual(report.after);
      } finally {
        await os.close();
      }
    });
  }
});

describe('a POSIX error is the answer, not a lost connection', () => {
  it('unlink of a missing file fails with ENOENT at once, and records nothing', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    const os = await openTestOS({ executor: false, logger });
    const fs = os.fs;
    await fs.mkdir('/d');
    const before = await tokens(os);
    expect(before).toHaveLength(1);
    const err = await expectErrno(fs.unlink('/missing'), 'ENOENT');
    expect(err).toBeInstanceOf(FsNotFoundError);
    await expectErrno(fs.mkdir('/d'), 'EEXIST');
    await expectErrno(fs.rename('/missing', '/b'), 'ENOENT');
    await expectErrno(fs.open('/d/x', 'r'), 'ENOENT');
    // No retry was made, and the failed statements rolled back their forgetting too.
    expect(logLines(lines.join('')).filter((l) => l.msg === RETRYING)).toEqual([]);
    expect(await tokens(os)).toEqual(before);
  });

  it('with the reply-losing fault armed, ENOENT still comes back and nothing retries', async () => {
    const url = await createTestDatabase();
    const { report, logs } = await runOp(url, 'unlink missing', 'fs:op-committed~disconnect');
    expect(report.result).toEqual({ errno: 'ENOENT' });
    expect(report.recorded).toEqual([]);
    // The failed unlink never reached the fault point; the mkdir after it did, and retried.
    expect(logs.filter((l) => l.msg === RETRYING)).toEqual([
      expect.objectContaining({ what: 'tableos.fs_mkdir' }),
    ]);
    expect(report.after).toHaveLength(1);
  });
});

describe('backends terminated every 200 ms while one node works on its files', () => {
  const WORKERS = 4;
  const MIN_ROUNDS = 4;
  const KILL_ROUNDS = 12;

  /** One round of worker k: every kind of operation, each checked as it returns. */
  async function round(fs: FileSystem, k: number, i: number): Promise<void> {
    const dir = `/w${k}`;
    const base = `${dir}/r${i}`;
    await fs.mkdir(base);
    await expectErrno(fs.mkdir(base), 'EEXIST');
    const [a, b] = await Promise.all([
      fs.create(`${base}/a`, `a${i}`),
      fs.writeFile(`${base}/b`, 'b'.repeat(i + 1)),
    ]);
    expect(a).not.toBe(b);
    expect(await fs.appendFile(`${base}/a`, '+1')).toBe(`a${i}+1`.length);
    expect(await fs.appendFile(`${base}/a`, '+2')).toBe(`a${i}+1+2`.length);
    expect(await fs.write(`${base}/b`, 0, 'B')).toBe(i + 1);
    await fs.symlink('a', `${base}/l`);
    await fs.link(`${base}/a`, `${base}/h`);
    await fs.rename(`${base}/b`, `${base}/c`);
    const h = await fs.open(`${base}/s`, 'wx');
    await h.write(0, 'ss');
    await h.truncate(1);
    expect(await h.append('!')).toBe(2);
    await fs.chmod(`${base}/c`, 0o600);
    await fs.mkdir(`${base}/e`);
    await fs.rmdir(`${base}/e`);
    await fs.unlink(`${base}/h`);
    await expectErrno(fs.unlink(`${base}/h`), 'ENOENT');
    expect(await fs.copy(base, `${base}-copy`, { recursive: true })).toBe(5);
    if (i > 0) expect(await fs.rm(`${dir}/r${i - 1}-copy`, { recursive: true })).toBe(5);
    if (i % 4 === 0) {
      await pipeline(Readable.from([streamData()]), createWriteStream(fs, `${base}/big`));
      const back: Buffer[] = [];
      for await (const chunk of createReadStream(fs, `${base}/big`)) back.push(chunk as Buffer);
      expect(Buffer.concat(back).equals(streamData())).toBe(true);
      await fs.rm(`${base}/big`);
    }
    // Reads see what this round made.
    expect((await fs.readdir(base)).map((e) => e.name)).toEqual(['a', 'c', 'l', 's']);
    expect(await fs.readlink(`${base}/l`)).toBe('a');
    expect((await fs.stat(`${base}/a`)).nlink).toBe(1);
    expect((await fs.find(dir, { name: 'c', type: 'f', sorted: false })).sort()).toEqual(
      [...Array.from({ length: i + 1 }, (_, j) => `${dir}/r${j}/c`), `${base}-copy/c`].sort(),
    );
    const q = await fs.query(
      `select count(*)::int as n from fs_files where path like '${dir}/%' and type = 'f'`,
    );
    expect(q.rows).toEqual([{ n: 3 * (i + 1) + 3 }]);
  }

  /** What worker k's directory holds after rounds rounds: path -> content or type. */
  function expected(k: number, rounds: number): Map<string, string> {
    const want = new Map<string, string>([[`/w${k}`, 'directory']]);
    const files = (base: string, i: number) => {
      want.set(base, 'directory');
      want.set(`${base}/a`, `a${i}+1+2`);
      want.set(`${base}/c`, 'B' + 'b'.repeat(i));
      want.set(`${base}/l`, 'symlink a');
      want.set(`${base}/s`, 's!');
    };
    for (let i = 0; i < rounds; i++) files(`/w${k}/r${i}`, i);
    files(`/w${k}/r${rounds - 1}-copy`, rounds - 1);
    return want;
  }

  async function actual(fs: FileSystem, k: number): Promise<Map<string, string>> {
    const got = new Map<string, string>();
    for (const e of await fs.list(`/w${k}`)) {
      if (e.type === 'file') got.set(e.path, await text(fs, e.path));
      else if (e.type === 'symlink') got.set(e.path, `symlink ${e.target}`);
      else got.set(e.path, e.type);
      if (e.name === 'c') expect(e.mode, e.path).toBe(0o600);
    }
    return got;
  }

  it('every operation completes with the right answer; the tree is exactly what was asked', async () => {
    const url = await createTestDatabase();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    const os = await openTestOS({ databaseUrl: url, executor: false, poolSize: 4, logger });
    const fs = os.fs;

    const killer = postgres(url, { max: 1, onnotice: () => undefined });
    pools.push(killer);
    let killRounds = 0;
    let killed = 0;
    let stop = false;
    const killing = (async () => {
      while (!stop) {
        const r = await killer<{ ok: boolean }[]>`
          select pg_terminate_backend(pid) as ok from pg_stat_activity
           where datname = current_database() and pid <> pg_backend_pid()`;
        killed += r.filter((x) => x.ok).length;
        killRounds++;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();

    const rounds: number[] = [];
    let outcomes: PromiseSettledResult<void>[];
    try {
      outcomes = await Promise.allSettled(
        Array.from({ length: WORKERS }, async (_, k) => {
          await fs.mkdir(`/w${k}`);
          let i = 0;
          // Enough rounds to see every operation, for as long as the storm lasts.
          while (i < MIN_ROUNDS || killRounds < KILL_ROUNDS) await round(fs, k, i++);
          rounds[k] = i;
        }),
      );
    } finally {
      stop = true;
      await killing;
    }

    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    expect(killRounds).toBeGreaterThanOrEqual(KILL_ROUNDS);
    expect(killed).toBeGreaterThan(0);
    const logs = logLines(lines.join(''));
    // Statements did lose their connections, and every one of them came back.
    expect(logs.filter((l) => l.msg === RETRYING).length).toBeGreaterThan(0);
    expect(logs.filter((l) => l.level >= 50)).toEqual([]);

    for (let k = 0; k < WORKERS; k++) {
      expect(await actual(fs, k)).toEqual(expected(k, rounds[k]!));
    }
    expect((await fs.readdir('/')).map((e) => e.name)).toEqual(
      Array.from({ length: WORKERS }, (_, k) => `w${k}`),
    );
    // Each once statement forgot the tokens before it: one more leaves only its own.
    await fs.mkdir('/done');
    expect(await tokens(os)).toHaveLength(1);
  });
});
