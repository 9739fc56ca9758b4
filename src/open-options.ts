// The options of TableOS.open: the kernel's configuration, and each service's options, all
// validated before anything starts.
import { z } from 'zod';
import type { Config, ConfigInput } from './kernel/config.js';
import { ConfigError } from './kernel/errors.js';
import type { AppIdentity } from './kernel/executor-registry.js';
import type { Logger } from './kernel/logger.js';
import { httpOptionsSchema, type HttpOptions } from './http/options.js';
import type { MessagingOptions } from './messaging/messaging.js';
import type { ServerlessOptions } from './serverless/types.js';
import { MAX_DAG_NODES } from './serverless/graph.js';
import type { WorkflowsOptions } from './workflows/service.js';

export interface OpenOptions extends ConfigInput {
  /** A pino logger to use instead of the default one on stderr. */
  logger?: Logger;
  /** Register this process as an executor (default true). A pure client passes false. */
  executor?: boolean;
  /** Apply pending migrations at open (default true). */
  migrate?: boolean;
  /** Fixed executor id; a random one is made when absent. */
  executorId?: string;
  /** The app version this node's executor runs (set by `tableos start` from the app module). */
  app?: AppIdentity;
  /** Options of the workflows service. */
  workflows?: WorkflowsOptions;
  /** Options of the messaging service. */
  messaging?: MessagingOptions;
  /** Options of the HTTP gateway (port, host, bodyLimit, ...). */
  http?: HttpOptions;
  /** Options of the serverless service (queue, maxNodes, pollMs). */
  serverless?: ServerlessOptions;
}

export interface ServiceOptions {
  workflows: WorkflowsOptions;
  messaging: MessagingOptions;
  http: HttpOptions;
  serverless: ServerlessOptions;
}

const ms = z.number().int().positive();
const appText = z.string().regex(/^[A-Za-z0-9._+-]{1,100}$/, 'use 1-100 letters, digits, . _ + -');
const serviceSchema = z.object({
  workflows: z.strictObject({ pollMs: ms.optional(), maxInFlight: ms.max(1000).optional() }),
  messaging: z.strictObject({
    address: z.string().min(1).max(128).optional(),
    expireEveryMs: z.number().int().nonnegative().optional(),
  }),
  http: httpOptionsSchema,
  app: z.strictObject({ name: appText, version: appText }).optional(),
  serverless: z.strictObject({
    queue: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,128}$/)
      .optional(),
    maxNodes: z.number().int().min(1).max(MAX_DAG_NODES).optional(),
    pollMs: ms.optional(),
  }),
});

export function parseOpenOptions(
  options: OpenOptions,
  loadConfig: (input: ConfigInput) => Config,
): {
  logger: Logger | undefined;
  executor: boolean;
  migrate: boolean;
  executorId: string | undefined;
  app: AppIdentity | undefined;
  services: ServiceOptions;
  config: Config;
} {
  const {
    logger,
    executor,
    migrate,
    executorId,
    app,
    workflows,
    messaging,
    http,
    serverless,
    ...input
  } = options;
  const parsed = serviceSchema.safeParse({
    workflows: workflows ?? {},
    messaging: messaging ?? {},
    http: http ?? {},
    app,
    serverless: serverless ?? {},
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid options: ${problems}`);
  }
  return {
    logger,
    executor: executor ?? true,
    migrate: migrate ?? true,
    executorId,
    app: parsed.data.app,
    services: parsed.data as ServiceOptions,
    config: loadConfig(input),
  };
}
