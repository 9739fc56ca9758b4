export { TableOS, type OpenOptions } from './tableos.js';
export { loadConfig, type Config, type ConfigInput } from './kernel/config.js';
export * from './kernel/errors.js';
export type { Sql, TransactionSql } from './kernel/database.js';
export { listExecutors, type ExecutorRow } from './kernel/executor-registry.js';
export { VERSION } from './kernel/version.js';
export * from './workflows/index.js';
export {
  Messaging,
  type MailboxStats,
  type MailboxWatch,
  type MessagingOptions,
  type RecvOptions,
  type SendOptions,
  type SendResult,
} from './messaging/messaging.js';
export type { Message } from './messaging/queries.js';
export type { CallOptions, Handler, ServeOptions, Server } from './messaging/rpc.js';
export { channelFor, consumeInTx, sendInTx } from './messaging/workflow.js';
export { MAX_MESSAGE_BYTES } from './messaging/validate.js';
export * from './messaging/errors.js';
export * from './scheduler/index.js';
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
