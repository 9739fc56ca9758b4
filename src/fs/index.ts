// The file-system service: files, directories and data blocks as rows (see docs/fs.md).
import type { TableOS } from '../tableos.js';
import { FileSystem } from './file-system.js';
import type { Identity } from './types.js';

/** The file system of a TableOS node, seen by one user (default root: uid 0, gid 0). */
export function fs(os: TableOS, identity: Partial<Identity> = {}): FileSystem {
  return new FileSystem(os, identity);
}

export { FileSystem, parseFindSize, MAX_IO_BYTES, type Data } from './file-system.js';
export { FileHandle } from './file-handle.js';
export { createReadStream, createWriteStream, BLOCK_SIZE } from './streams.js';
export { importTree, exportTree, type Progress, type TransferOptions } from './transfer.js';
export { fsQuery, type QueryResult } from './query.js';
export { globToRegex } from './path.js';
export * from './errors.js';
export * from './types.js';
