// The file-system service: files, directories and data blocks as rows (see docs/fs.md).
import type { TableOS } from '../tableos.js';
import { FileSystem } from './file-system.js';
import type { Identity } from './types.js';

/** The file system of a TableOS node, seen by one user (default root: uid 0, gid 0). */
export function fs(os: TableOS, identity: Partial<Identity> = {}): FileSystem {
  return new FileSystem(os, identity);
}

export { FileSystem, MAX_IO_BYTES, type Data as FsData } from './file-system.js';
export { FileHandle } from './file-handle.js';
export { createReadStream, createWriteStream, BLOCK_SIZE as FS_BLOCK_SIZE } from './streams.js';
export type { ReadStreamOptions, WriteStreamOptions } from './streams.js';
export {
  importTree,
  exportTree,
  type Progress,
  type Progress as FsTransferProgress,
  type TransferOptions,
} from './transfer.js';
export { fsQuery, type QueryResult as FsQueryResult } from './query.js';
export {
  FS_SQLSTATE,
  FsError,
  FsNotFoundError,
  FsExistsError,
  FsNotDirectoryError,
  FsIsDirectoryError,
  FsNotEmptyError,
  FsAccessError,
  FsPermissionError,
  FsInvalidError,
  FsLoopError,
  FsNameTooLongError,
  FsBusyError,
  FsTooLargeError,
  type Errno,
} from './errors.js';
export type {
  Identity as FsIdentity,
  FileType,
  Stats as FsStats,
  DirEntry,
  WalkEntry,
  ListEntry,
  FindOptions,
  OpenFlags,
} from './types.js';
