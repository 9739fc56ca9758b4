export { TableOS, type OpenOptions } from './tableos.js';
export { loadConfig, type Config, type ConfigInput } from './kernel/config.js';
export * from './kernel/errors.js';
export type { Sql, TransactionSql } from './kernel/database.js';
export { listExecutors, type ExecutorRow } from './kernel/executor-registry.js';
export { VERSION } from './kernel/version.js';
export * from './fs/index.js';
