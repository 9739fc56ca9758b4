// File system: TableOS against ext4 through Node's fs (with fsync where TableOS is durable,
// and without), and against find / find | sort | head for listing and analytics.
// npm run bench -- fs [--files N] [--mb N] [--tree N] [--stats N] [--concurrency N]
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import nodeFs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createReadStream, createWriteStream, type FileSystem } from '../src/fs/index.js';
import { silentLogger } from '../src/kernel/logger.js';
import { TableOS } from '../src/tableos.js';
import { benchDatabase } from './support/database.js';
import { report, round } from './support/stats.js';

const run = promisify(execFile);

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

async function clock(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Runs n tasks with `concurrency` in flight. */
async function pool(
  n: number,
  concurrency: number,
  task: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

function chunks(totalMb: number): Readable {
  const block = crypto.randomBytes(1024 * 1024);
  let left = totalMb;
  return new Readable({
    read() {
      if (left-- > 0) this.push(block);
      else this.push(null);
    },
  });
}

/** ext4: create files (open, write, optionally fsync file and directory, close). */
async function ext4Create(dir: string, n: number, c: number, sync: boolean): Promise<number> {
  await fsp.mkdir(dir, { recursive: true });
  const d = sync ? await fsp.open(dir, 'r') : undefined;
  const ms = await clock(() =>
    pool(n, c, async (i) => {
      const h = await fsp.open(path.join(dir, `f${i}`), 'wx');
      await h.write(`small file ${i}\n`);
      if (sync) await h.sync();
      await h.close();
      if (d) await d.sync(); // the new entry is durable only once its directory is
    }),
  );
  await d?.close();
  return (n / ms) * 1000;
}

interface TreeSpec {
  dirs: string[];
  files: { rel: string; size: number; mtime: Date }[];
}

/** A tree of about n entries: 10 top directories, 10 below each, files spread among them. */
function treeSpec(n: number): TreeSpec {
  const dirs: string[] = [];
  for (let a = 0; a < 10; a++) {
    dirs.push(`d${a}`);
    for (let b = 0; b < 10; b++) dirs.push(`d${a}/e${b}`);
  }
  const leaves = dirs.filter((d) => d.includes('/'));
  const files: TreeSpec['files'] = [];
  const now = Date.now();
  let seed = 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; files.length + dirs.length < n; i++) {
    files.push({
      rel: `${leaves[i % leaves.length]}/file${i}.dat`,
      size: Math.floor(rnd() * 1000),
      mtime: new Date(now - Math.floor(rnd() * 30 * 86400_000)),
    });
  }
  return { dirs, files };
}

async function buildTrees(
  t: FileSystem,
  spec: TreeSpec,
  remote: string,
  local: string,
): Promise<void> {
  await t.mkdir(remote, { parents: true });
  const filler = Buffer.alloc(1000, 0x61);
  const items = [
    ...spec.dirs.map((d) => ({ kind: 'd', rel: d, size: 0, mtime: new Date() })),
    ...spec.files.map((f) => ({ kind: 'f', ...f })),
  ];
  for (let i = 0; i < items.length; i += 2000) {
    const batch = items.slice(i, i + 2000);
    await t.caller.once(
      'fs_put_many',
      batch.map((x) => x.kind),
      batch.map((x) => `${remote}/${x.rel}`),
      batch.map((x) => (x.kind === 'd' ? 0o755 : 0o644)),
      batch.map((x) => x.mtime.toISOString()),
      Buffer.concat(batch.map((x) => filler.subarray(0, x.size))),
      batch.map((x) => (x.kind === 'd' ? -1 : x.size)),
      batch.map(() => null),
    );
  }
  for (const d of spec.dirs) await fsp.mkdir(path.join(local, d), { recursive: true });
  await pool(spec.files.length, 32, async (i) => {
    const f = spec.files[i]!;
    const p = path.join(local, f.rel);
    await fsp.writeFile(p, filler.subarray(0, f.size));
    await fsp.utimes(p, f.mtime, f.mtime);
  });
}

export async function main(args: string[]): Promise<void> {
  const nFiles = arg(args, 'files', 10_000);
  const mb = arg(args, 'mb', 1024);
  const nTree = arg(args, 'tree', 100_000);
  const nStats = arg(args, 'stats', 10_000);
  const conc = arg(args, 'concurrency', 16);
  const db = await benchDatabase();
  const tos = await TableOS.open({
    databaseUrl: db.url,
    logger: silentLogger,
    executor: false,
    poolSize: conc,
  });
  const t = tos.fs;
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'tableos-fsbench-'));
  const log = (s: string) => console.log(s);
  try {
    // 1. create small files
    await t.mkdir('/create');
    const tCreateMs = await clock(() =>
      pool(nFiles, conc, (i) => t.create(`/create/f${i}`, `small file ${i}\n`)),
    );
    const create = {
      tableos_files_s: round((nFiles / tCreateMs) * 1000),
      ext4_fsync_files_s: round(await ext4Create(path.join(work, 'c1'), nFiles, conc, true)),
      ext4_nofsync_files_s: round(await ext4Create(path.join(work, 'c2'), nFiles, conc, false)),
    };
    log(`create ${nFiles} files (${conc} in flight): ${JSON.stringify(create)}`);
    // More in flight: TableOS groups more creates per commit; Node's fs runs on its 4 threads.
    await t.mkdir('/create64');
    const t64Ms = await clock(() =>
      pool(nFiles, 64, (i) => t.create(`/create64/f${i}`, `small file ${i}\n`)),
    );
    const create64 = {
      tableos_files_s: round((nFiles / t64Ms) * 1000),
      ext4_fsync_files_s: round(await ext4Create(path.join(work, 'c3'), nFiles, 64, true)),
    };
    log(`create ${nFiles} files (64 in flight): ${JSON.stringify(create64)}`);

    // 2. sequential write and read of one large file
    const wMs = await clock(() => pipeline(chunks(mb), createWriteStream(t, '/big.bin')));
    const rMs = await clock(async () => {
      for await (const c of createReadStream(t, '/big.bin')) void c;
    });
    const bigLocal = path.join(work, 'big.bin');
    const ext4W = async (sync: boolean) =>
      clock(async () => {
        await pipeline(chunks(mb), nodeFs.createWriteStream(bigLocal));
        if (sync) {
          const h = await fsp.open(bigLocal, 'r+');
          await h.sync();
          await h.close();
        }
      });
    const ewSync = await ext4W(true);
    const ewNo = await ext4W(false);
    const erMs = await clock(async () => {
      for await (const c of nodeFs.createReadStream(bigLocal, { highWaterMark: 1024 * 1024 }))
        void c;
    });
    await fsp.rm(bigLocal);
    const mbs = (ms: number) => round((mb / ms) * 1000);
    const seq = {
      tableos_write_mb_s: mbs(wMs),
      ext4_fsync_write_mb_s: mbs(ewSync),
      ext4_nofsync_write_mb_s: mbs(ewNo),
      tableos_read_mb_s: mbs(rMs),
      ext4_read_mb_s: mbs(erMs),
    };
    log(`sequential ${mb} MiB: ${JSON.stringify(seq)}`);
    await t.rm('/big.bin');

    // 3. recursive listing of a tree, 4. stat, 5. the analytic question
    const spec = treeSpec(nTree);
    const local = path.join(work, 'srv');
    await buildTrees(t, spec, '/srv', local);
    await tos.sql`vacuum analyze tableos.fs_inode`;
    await tos.sql`vacuum analyze tableos.fs_dirent`;
    // find /srv against `find` itself (neither sorts), and the sorted pre-order walk (ls -R).
    const walkRows = { n: 0 };
    const lsMs = Math.min(
      ...(await seqTimes(
        3,
        async () => (walkRows.n = (await t.find('/srv', { sorted: false })).length),
      )),
    );
    const sortedMs = Math.min(...(await seqTimes(3, async () => t.find('/srv'))));
    const findOut = { n: 0 };
    const findMs = Math.min(
      ...(await seqTimes(3, async () => {
        const r = await run('find', [local], { maxBuffer: 1 << 28 });
        findOut.n = r.stdout.split('\n').length - 1;
      })),
    );
    const listing = {
      entries: walkRows.n,
      find_entries: findOut.n,
      tableos_ms: round(lsMs),
      tableos_sorted_ms: round(sortedMs),
      find_ms: round(findMs),
    };
    log(`recursive listing: ${JSON.stringify(listing)}`);

    const statPaths = spec.files.slice(0, nStats).map((f) => f.rel);
    const tStatMs = await clock(() =>
      pool(statPaths.length, conc, (i) => t.stat(`/srv/${statPaths[i]}`)),
    );
    const eStatMs = await clock(() =>
      pool(statPaths.length, conc, (i) => fsp.stat(path.join(local, statPaths[i]!))),
    );
    const stat = {
      tableos_stats_s: round((statPaths.length / tStatMs) * 1000),
      ext4_stats_s: round((statPaths.length / eStatMs) * 1000),
    };
    log(`stat ${statPaths.length} files: ${JSON.stringify(stat)}`);

    const query = `select uid, path, size from tableos.fs_files
      where path like '/srv/%' and type = 'f' and mtime > now() - interval '7 days'
      order by size desc limit 10`;
    const qRows: unknown[] = [];
    const qMs = Math.min(
      ...(await seqTimes(3, async () =>
        qRows.splice(0, qRows.length, ...(await tos.sql.unsafe(query))),
      )),
    );
    const pipe = `find ${local} -type f -newermt '7 days ago' -printf '%s\\t%U\\t%p\\n' | sort -rn | head -10`;
    const pipeOut = { lines: 0 };
    const pMs = Math.min(
      ...(await seqTimes(3, async () => {
        const r = await run('sh', ['-c', pipe], { maxBuffer: 1 << 26 });
        pipeOut.lines = r.stdout.trim().split('\n').length;
      })),
    );
    const analytic = {
      tableos_ms: round(qMs, 2),
      pipeline_ms: round(pMs, 2),
      rows: qRows.length,
      pipeline_rows: pipeOut.lines,
    };
    log(`analytic top-10: ${JSON.stringify(analytic)}`);

    const createRatio = round(create.tableos_files_s / create.ext4_fsync_files_s, 2);
    report({
      bench: 'fs',
      tableos: { ops_s: create.tableos_files_s, p50_ms: null, p99_ms: null },
      peer: {
        name: 'ext4 via node:fs with fsync (file + directory)',
        ops_s: create.ext4_fsync_files_s,
      },
      ratio: createRatio,
      create_64_in_flight: {
        ...create64,
        ratio_vs_fsync: round(create64.tableos_files_s / create64.ext4_fsync_files_s, 2),
      },
      create: {
        ...create,
        ratio_vs_fsync: createRatio,
        ratio_vs_nofsync: round(create.tableos_files_s / create.ext4_nofsync_files_s, 2),
      },
      sequential: {
        ...seq,
        write_ratio_vs_fsync: round(seq.tableos_write_mb_s / seq.ext4_fsync_write_mb_s, 2),
        write_ratio_vs_nofsync: round(seq.tableos_write_mb_s / seq.ext4_nofsync_write_mb_s, 2),
        read_ratio: round(seq.tableos_read_mb_s / seq.ext4_read_mb_s, 2),
      },
      listing: {
        ...listing,
        ratio: round(findMs / lsMs, 2),
        ratio_sorted: round(findMs / sortedMs, 2),
      },
      stat: { ...stat, ratio: round(stat.tableos_stats_s / stat.ext4_stats_s, 2) },
      analytic: { ...analytic, ratio: round(pMs / qMs, 2) },
      params: { files: nFiles, mb, tree: nTree, stats: nStats, concurrency: conc },
    });
  } finally {
    await tos.close();
    await db.close();
    await fsp.rm(work, { recursive: true, force: true });
  }
}

async function seqTimes(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await clock(fn));
  return out;
}
