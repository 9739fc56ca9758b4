// The serverless service's public surface: graphs of functions, as os.serverless.
export { Serverless, DagHandle, DAG_TIMEOUT_KIND } from './serverless.js';
export { MAX_DAG_NODES } from './graph.js';
export { serveDags } from './http-routes.js';
export * from './errors.js';
export type * from './types.js';
