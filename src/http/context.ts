// What the gateway's request handlers share: the services they call, the configuration, and
// whether the node is draining.
import type {
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { Kernel } from '../kernel/kernel.js';
import type { Logger } from '../kernel/logger.js';
import type { Workflows } from '../workflows/service.js';
import type { HttpConfig } from './options.js';

export interface GatewayContext {
  kernel: Kernel;
  workflows: Workflows;
  config: HttpConfig;
  log: Logger;
  /** Resolves when the gateway begins to drain: long-polls answer at once then. */
  drainStarted: Promise<void>;
  isDraining(): boolean;
}

/** Where a run is read: `/runs/<id>`, the id percent-encoded. */
export function runPath(id: string): string {
  return `/runs/${encodeURIComponent(id)}`;
}

/** The gateway's fastify instance (its logger is the node's pino logger). */
export type GatewayApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  Logger
>;
