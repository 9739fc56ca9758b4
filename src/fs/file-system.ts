// The file system for one caller identity: every method is one procedure call, run again
// after a lost connection (reads and repeatable changes as they are, the rest once by token).
import type { Kernel } from '../kernel/kernel.js';
import { fsQuery, type QueryResult } from './query.js';
import { Batcher, type BatchOutcome, type BatcherOptions } from '../kernel/batcher.js';
import { Caller, checkIdentity } from './caller.js';
import { fsError, FsInvalidError } from './errors.js';
import { checkData, MAX_IO_BYTES, type Data } from './data.js';
import { FileHandle } from './file-handle.js';
import { checkPath, globToRegex } from './path.js';
import {
  kindName,
  toList,
  toStats,
  toWalk,
  type ListRow,
  type StatRow,
  type WalkRow,
} from './rows.js';
import type {
  DirEntry,
  FindOptions,
  Identity,
  ListEntry,
  OpenFlags,
  Stats,
  WalkEntry,
} from './types.js';

function checkMode(mode: number): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new FsInvalidError('EINVAL', `EINVAL: mode must be an integer 0..07777, got ${mode}`);
  }
  return mode;
}

interface CreateItem {
  path: string;
  mode: number;
  data: Buffer;
}

/** The first call goes at once; callers resumed by a batch get a turn to join the next one. */
const FS_BATCH: BatcherOptions = { maxBatch: 256, gather: 'none', regather: true };

function identityKey(id: Identity): string {
  return `${id.uid}:${id.gids.join(',')}`;
}

export class FileSystem {
  readonly identity: Identity;
  readonly caller: Caller;
  private readonly creates = new Map<boolean, Batcher<CreateItem, number>>();
  private readonly stats: Batcher<string, Stats>;

  constructor(
    private readonly kernel: Kernel,
    identity: Partial<Identity> = {},
    /** Every identity's view of this node's file system, shared by all of them. */
    private readonly views = new Map<string, FileSystem>(),
  ) {
    this.identity = checkIdentity(identity);
    this.caller = new Caller(kernel, this.identity);
    views.set(identityKey(this.identity), this);
    this.stats = Batcher.settling((paths) => this.statMany(paths), FS_BATCH);
    for (const exclusive of [true, false]) {
      // 64 items at most: each runs in its own savepoint, and Postgres tracks up to 64
      // subtransactions per transaction cheaply.
      this.creates.set(
        exclusive,
        Batcher.settling((items) => this.createMany(items, exclusive), {
          ...FS_BATCH,
          maxBatch: 64,
        }),
      );
    }
  }

  /** The same file system seen by another user. */
  as(identity: Partial<Identity>): FileSystem {
    const id = checkIdentity(identity);
    return this.views.get(identityKey(id)) ?? new FileSystem(this.kernel, id, this.views);
  }

  /** Runs one read-only SQL statement over the fs views (fs_files, fs_dirs, ...). */
  query(text: string): Promise<QueryResult> {
    // A read-only transaction: safe to run again after a lost connection.
    return this.caller.retrying('fs query', () => fsQuery(this.caller.sql, text));
  }

  /** Waits for the batched calls in flight of every identity. */
  async close(): Promise<void> {
    const views = [...this.views.values()];
    await Promise.all(
      views.flatMap((v) => [v.stats.drained(), ...[...v.creates.values()].map((b) => b.drained())]),
    );
  }

  async mkdir(path: string, opts: { mode?: number; parents?: boolean } = {}): Promise<number> {
    const ino = await this.caller.onceOne<string>(
      'fs_mkdir',
      checkPath(path),
      checkMode(opts.mode ?? 0o755),
      opts.parents ?? false,
    );
    return Number(ino);
  }

  /** Creates a new file with its content (EEXIST if it exists); concurrent creates share a commit. */
  async create(path: string, data: Data = '', opts: { mode?: number } = {}): Promise<number> {
    return this.creates.get(true)!.push({
      path: checkPath(path),
      mode: checkMode(opts.mode ?? 0o644),
      data: checkData(data),
    });
  }

  /** Creates or replaces a file's content. */
  async writeFile(path: string, data: Data, opts: { mode?: number } = {}): Promise<number> {
    return this.creates.get(false)!.push({
      path: checkPath(path),
      mode: checkMode(opts.mode ?? 0o644),
      data: checkData(data),
    });
  }

  private async createMany(
    items: CreateItem[],
    exclusive: boolean,
  ): Promise<BatchOutcome<number>[]> {
    // The whole batch runs once by token: a retry after a lost reply must not find its own
    // new files and call them EEXIST (or replace what another client wrote since).
    const rows = await this.caller.once<{
      i: number;
      ino: string | null;
      errno: string | null;
      message: string | null;
    }>(
      'fs_create_many',
      items.map((x) => x.path),
      items.map((x) => x.mode),
      Buffer.concat(items.map((x) => x.data)),
      items.map((x) => x.data.length),
      exclusive,
    );
    return rows.map((r) =>
      r.errno === null
        ? { ok: true, value: Number(r.ino) }
        : { ok: false, error: fsError(r.errno, r.message ?? r.errno) },
    );
  }

  async readFile(path: string): Promise<Buffer> {
    return this.caller.one<Buffer>('fs_read', checkPath(path), 0, MAX_IO_BYTES);
  }

  async read(path: string, offset: number, length: number): Promise<Buffer> {
    return this.caller.one<Buffer>('fs_read', checkPath(path), offset, length);
  }

  /** Writes at an offset (holes read as zeros); returns the new size. */
  async write(path: string, offset: number, data: Data): Promise<number> {
    return Number(
      await this.caller.changeOne<string>('fs_write', checkPath(path), offset, checkData(data)),
    );
  }

  async appendFile(path: string, data: Data, opts: { mode?: number } = {}): Promise<number> {
    return Number(
      await this.caller.onceOne<string>(
        'fs_append',
        checkPath(path),
        checkData(data),
        checkMode(opts.mode ?? 0o644),
      ),
    );
  }

  async truncate(path: string, length = 0): Promise<void> {
    await this.caller.change('fs_truncate', checkPath(path), length);
  }

  async open(path: string, flags: OpenFlags = 'r', mode = 0o644): Promise<FileHandle> {
    // r and r+ only look; every other flag may create or truncate, so it runs once.
    const [row] = await this.caller.run<{ ino: string; size: string }>(
      'fs_open',
      [checkPath(path), flags, checkMode(mode)],
      flags === 'r' || flags === 'r+' ? {} : { once: true, after: 'fs:op-committed' },
    );
    return new FileHandle(this.caller, Number(row!.ino), path, flags);
  }

  /** stat, following symlinks; concurrent calls are grouped into one statement. */
  async stat(path: string): Promise<Stats> {
    return this.stats.push(checkPath(path));
  }

  async lstat(path: string): Promise<Stats> {
    const [row] = await this.caller.call<StatRow>('fs_stat', checkPath(path), false);
    return toStats(row!);
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.lstat(path);
      return true;
    } catch (err) {
      if ((err as { errno?: string }).errno === 'ENOENT') return false;
      throw err;
    }
  }

  private async statMany(paths: string[]): Promise<BatchOutcome<Stats>[]> {
    const rows = await this.caller.call<StatRow & { errno: string | null; message: string | null }>(
      'fs_stat_many',
      paths,
      true,
    );
    return rows.map((r) =>
      r.errno === null
        ? { ok: true, value: toStats(r) }
        : { ok: false, error: fsError(r.errno, r.message ?? r.errno) },
    );
  }

  async readdir(path: string): Promise<DirEntry[]> {
    const rows = await this.caller.call<{ name: string; ino: string; kind: string }>(
      'fs_readdir',
      checkPath(path),
    );
    return rows.map((r) => ({ name: r.name, ino: Number(r.ino), type: kindName(r.kind) }));
  }

  async rename(from: string, to: string): Promise<void> {
    await this.caller.once('fs_rename', checkPath(from), checkPath(to));
  }

  async unlink(path: string): Promise<void> {
    await this.caller.once('fs_unlink', checkPath(path));
  }

  async rmdir(path: string): Promise<void> {
    await this.caller.once('fs_rmdir', checkPath(path));
  }

  /** rm / rm -r: returns the number of entries removed. */
  async rm(path: string, opts: { recursive?: boolean } = {}): Promise<number> {
    return Number(
      await this.caller.onceOne<string>('fs_remove', checkPath(path), opts.recursive ?? false),
    );
  }

  async link(existing: string, path: string): Promise<void> {
    await this.caller.once('fs_link', checkPath(existing), checkPath(path));
  }

  async symlink(target: string, path: string): Promise<number> {
    return Number(
      await this.caller.onceOne<string>('fs_symlink', checkPath(target, 'target'), checkPath(path)),
    );
  }

  async readlink(path: string): Promise<string> {
    return this.caller.one<string>('fs_readlink', checkPath(path));
  }

  async chmod(path: string, mode: number): Promise<void> {
    await this.caller.change('fs_chmod', checkPath(path), checkMode(mode));
  }

  /** Changes owner and/or group; null keeps the current one. */
  async chown(path: string, uid: number | null, gid: number | null = null): Promise<void> {
    await this.caller.change('fs_chown', checkPath(path), uid, gid, true);
  }

  async utimes(path: string, atime: Date, mtime: Date): Promise<void> {
    await this.caller.change('fs_utimes', checkPath(path), atime, mtime);
  }

  /** cp / cp -r inside the file system; returns the number of entries copied. */
  async copy(from: string, to: string, opts: { recursive?: boolean } = {}): Promise<number> {
    return Number(
      await this.caller.onceOne<string>(
        'fs_copy',
        checkPath(from),
        checkPath(to),
        opts.recursive ?? false,
      ),
    );
  }

  /** The tree under path in one query: pre-order by name, or with sorted false in no order. */
  async walk(
    path: string,
    opts: { maxDepth?: number; sorted?: boolean } = {},
  ): Promise<WalkEntry[]> {
    const rows = await this.caller.json<WalkRow>(
      'fs_walk',
      checkPath(path),
      opts.maxDepth ?? null,
      opts.sorted ?? true,
    );
    return rows.map(toWalk);
  }

  /** Like walk, with each entry's attributes (ls -l). */
  async list(path: string, opts: { maxDepth?: number } = {}): Promise<ListEntry[]> {
    const rows = await this.caller.json<ListRow>('fs_list', checkPath(path), opts.maxDepth ?? null);
    return rows.map(toList);
  }

  /** find: matching paths (pre-order unless sorted is false), filtered by the database. */
  async find(path: string, opts: FindOptions = {}): Promise<string[]> {
    const size = opts.size === undefined ? undefined : parseFindSize(opts.size);
    return this.caller.json<string>(
      'fs_find',
      checkPath(path),
      opts.name === undefined ? null : globToRegex(opts.name),
      opts.type ?? null,
      size?.cmp ?? null,
      size?.n ?? null,
      size?.unit ?? null,
      opts.newer === undefined ? null : checkPath(opts.newer),
      opts.maxDepth ?? null,
      opts.sorted ?? true,
    );
  }

  /** du: bytes under each directory (or, with summary, the total). */
  async du(
    path: string,
    opts: { summary?: boolean } = {},
  ): Promise<{ path: string; bytes: number }[]> {
    const rows = await this.caller.call<{ path: string; bytes: string }>(
      'fs_du',
      checkPath(path),
      opts.summary ?? false,
    );
    return rows.map((r) => ({ path: r.path, bytes: Number(r.bytes) }));
  }
}

const UNITS: Record<string, number> = { b: 512, c: 1, w: 2, k: 1024, M: 1024 ** 2, G: 1024 ** 3 };

export function parseFindSize(spec: string): { cmp: string; n: number; unit: number } {
  const m = /^([+-]?)(\d+)([bcwkMG]?)$/.exec(spec);
  if (!m) {
    throw new FsInvalidError(
      'EINVAL',
      `EINVAL: bad -size ${JSON.stringify(spec)}: use [+-]N[cwbkMG]`,
    );
  }
  return { cmp: m[1] || '=', n: Number(m[2]), unit: UNITS[m[3] || 'b']! };
}
