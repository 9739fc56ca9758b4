// An open file: reads and writes by inode at offsets, each a call that re-checks permission.
// Writes at an offset retry after a lost connection; appends run once by token.
import { callProcedure } from '../kernel/call.js';
import type { Caller } from './caller.js';
import { FsInvalidError } from './errors.js';
import { MAX_IO_BYTES, toBuffer, type Data } from './data.js';
import { toStats, type StatRow } from './rows.js';
import type { OpenFlags, Stats } from './types.js';

export class FileHandle {
  private closed = false;

  constructor(
    /** The identity the handle acts for; streams call through it. */
    readonly caller: Caller,
    readonly ino: number,
    readonly path: string,
    readonly flags: OpenFlags,
  ) {}

  private check(): void {
    if (this.closed)
      throw new FsInvalidError('EINVAL', `EINVAL: file handle closed, '${this.path}'`);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    this.check();
    return this.caller.one<Buffer>('fs_pread', this.ino, offset, length);
  }

  /** Writes at offset; in append mode ('a', 'a+') always at the end. Returns the new size. */
  async write(offset: number, data: Data): Promise<number> {
    this.check();
    const buf = toBuffer(data);
    if (buf.length > MAX_IO_BYTES) {
      throw new FsInvalidError('EINVAL', 'EINVAL: a single write is limited to 64 MiB');
    }
    const append = this.flags.startsWith('a');
    const args = [this.ino, offset, buf, append];
    const size = append
      ? await this.caller.onceOne<string>('fs_pwrite', ...args)
      : await this.caller.changeOne<string>('fs_pwrite', ...args);
    return Number(size);
  }

  async append(data: Data): Promise<number> {
    this.check();
    return Number(
      await this.caller.onceOne<string>('fs_pwrite', this.ino, 0, toBuffer(data), true),
    );
  }

  async truncate(length = 0): Promise<void> {
    this.check();
    await this.caller.change('fs_ftruncate', this.ino, length);
  }

  async stat(): Promise<Stats> {
    this.check();
    const rows = await this.caller.retrying('tableos.fs_stat_ino', () =>
      callProcedure<StatRow>(this.caller.sql, 'tableos.fs_stat_ino', [this.ino]),
    );
    return toStats(rows[0]!);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
