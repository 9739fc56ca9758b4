export { TableOS, type OpenOptions } from './tableos.js';
export { loadConfig, type Config, type ConfigInput } from './kernel/config.js';
export * from './kernel/errors.js';
export type { Sql, TransactionSql } from './kernel/database.js';
export { listExecutors, type ExecutorRow } from './kernel/executor-registry.js';
export { VERSION } from './kernel/version.js';
export {
  fs,
  FileSystem,
  FileHandle,
  createReadStream,
  createWriteStream,
  importTree,
  exportTree,
  fsQuery,
  FS_BLOCK_SIZE,
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
  type FsIdentity,
  type FsStats,
  type FsData,
  type FsTransferProgress,
  type FsQueryResult,
  type FindOptions,
  type OpenFlags,
} from './fs/index.js';
