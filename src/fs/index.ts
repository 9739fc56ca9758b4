// The file-system service: files, directories and data blocks as rows (see docs/fs.md).
export { FileSystem } from './file-system.js';
export { MAX_IO_BYTES as FS_MAX_IO_BYTES, type Data as FsData } from './data.js';
export { FileHandle } from './file-handle.js';
export { createReadStream, createWriteStream, BLOCK_SIZE as FS_BLOCK_SIZE } from './streams.js';
export type {
  ReadStreamOptions as FsReadStreamOptions,
  WriteStreamOptions as FsWriteStreamOptions,
} from './streams.js';
export {
  importTree,
  exportTree,
  type Progress as FsTransferProgress,
  type TransferOptions as FsTransferOptions,
} from './transfer.js';
export type { QueryResult as FsQueryResult } from './query.js';
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
  type Errno as FsErrno,
} from './errors.js';
export type {
  Identity as FsIdentity,
  FileType as FsFileType,
  Stats as FsStats,
  DirEntry as FsDirEntry,
  WalkEntry as FsWalkEntry,
  ListEntry as FsListEntry,
  FindOptions as FsFindOptions,
  OpenFlags as FsOpenFlags,
} from './types.js';
