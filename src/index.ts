// The package's public surface: the node, its configuration and errors, and each service's
// own public surface from that service's index.
export { TableOS, type OpenOptions } from './tableos.js';
export { TableOSClient } from './client.js';
export { loadConfig, type Config, type ConfigInput } from './kernel/config.js';
export * from './kernel/errors.js';
export type { Sql, TransactionSql } from './kernel/database.js';
export { listExecutors, type ExecutorRow } from './kernel/executor-registry.js';
export { VERSION } from './kernel/version.js';
export * from './workflows/index.js';
export * from './messaging/index.js';
export * from './scheduler/index.js';
export * from './fs/index.js';
export * from './http/index.js';
export * from './apps/index.js';
export * from './serverless/index.js';
