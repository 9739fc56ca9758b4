// The public surface of the messaging service (os.messaging).
export {
  Messaging,
  type MailboxStats,
  type MailboxWatch,
  type MessagingOptions,
  type RecvOptions,
  type SendOptions,
  type SendResult,
} from './messaging.js';
export type { Message } from './queries.js';
export type {
  CallOptions as RpcCallOptions,
  Handler as RpcHandler,
  ServeOptions as RpcServeOptions,
  Server as RpcServer,
} from './rpc.js';
export { MAX_MESSAGE_BYTES } from './validate.js';
export * from './errors.js';
