// Errors of the messaging service, each with a stable code.
import { TableOSError } from '../kernel/errors.js';
import { quotedName, registerRaisedErrors } from '../kernel/query.js';

/** The base of every messaging-service error. */
export class MessagingError extends TableOSError {}

export class MailboxNotFoundError extends MessagingError {
  constructor(
    readonly mailbox: string,
    options?: { cause?: unknown },
  ) {
    super(
      'TABLEOS_MESSAGING_NO_MAILBOX',
      `no mailbox named ${JSON.stringify(mailbox)}; a mailbox exists once something was sent to it or it was created with createMailbox`,
      options,
    );
  }
}

export class BadMailboxNameError extends MessagingError {
  constructor(name: unknown, options?: { cause?: unknown }) {
    super(
      'TABLEOS_MESSAGING_BAD_MAILBOX',
      `invalid mailbox name ${describe(name)}: use 1-128 characters, letters, digits and . _ : @ / -, starting with a letter or digit`,
      options,
    );
  }
}

export class BadTopicError extends MessagingError {
  constructor(topic: unknown) {
    super(
      'TABLEOS_MESSAGING_BAD_TOPIC',
      `invalid topic ${describe(topic)}: use 1-64 characters, letters, digits and . _ : / -, starting with a letter or digit`,
    );
  }
}

export class MessageTooLargeError extends MessagingError {
  constructor(
    readonly bytes: number,
    readonly limit: number,
    options?: { cause?: unknown },
  ) {
    super(
      'TABLEOS_MESSAGING_TOO_LARGE',
      `message is ${bytes} bytes as JSON, over the limit of ${limit} bytes; store large data elsewhere (e.g. a file) and send a reference`,
      options,
    );
  }
}

export class BadMessageError extends MessagingError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('TABLEOS_MESSAGING_BAD_MESSAGE', `message cannot be sent: ${detail}`, options);
  }
}

export class BadOptionError extends MessagingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_MESSAGING_BAD_OPTION', message, options);
  }
}

export class CallTimeoutError extends MessagingError {
  constructor(
    readonly service: string,
    readonly timeoutMs: number,
  ) {
    super(
      'TABLEOS_MESSAGING_CALL_TIMEOUT',
      `no reply from service ${JSON.stringify(service)} within ${timeoutMs} ms; the request stays in its mailbox until served or expired`,
    );
  }
}

/** The handler of a served request threw; its message and code travel back to the caller. */
export class RemoteError extends MessagingError {
  constructor(
    readonly service: string,
    readonly remoteCode: string | undefined,
    message: string,
  ) {
    super('TABLEOS_MESSAGING_REMOTE', `service ${JSON.stringify(service)} failed: ${message}`);
  }
}

/** A served request reached a process whose service had already stopped. */
export class ServiceStoppedError extends MessagingError {
  constructor(readonly service: string) {
    super('TABLEOS_MESSAGING_SERVICE_STOPPED', 'service stopped');
  }
}

/** `tableos msg recv` waited and no message came. */
export class NoMessageError extends MessagingError {
  constructor(
    readonly mailbox: string,
    timeoutMs: number | undefined,
  ) {
    super(
      'TABLEOS_MESSAGING_EMPTY',
      `no message in mailbox ${JSON.stringify(mailbox)} within ${String(timeoutMs)} ms`,
    );
  }
}

registerRaisedErrors({
  TABLEOS_MESSAGING_NO_MAILBOX: (r) =>
    new MailboxNotFoundError(quotedName(r.message) ?? '', { cause: r.query }),
  TABLEOS_MESSAGING_BAD_MAILBOX: (r) =>
    new BadMailboxNameError(quotedName(r.message) ?? null, { cause: r.query }),
  TABLEOS_MESSAGING_TOO_LARGE: (r) => {
    // The procedure writes both numbers, in this order: `message is N bytes ... limit of M`.
    const [bytes = 0, limit = 0] = (r.message.match(/\d+/g) ?? []).map(Number);
    return new MessageTooLargeError(bytes, limit, { cause: r.query });
  },
  TABLEOS_MESSAGING_BAD_OPTION: (r) => new BadOptionError(r.message, { cause: r.query }),
});

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? v.slice(0, 80) + '...' : v);
  return `of type ${v === null ? 'null' : typeof v}`;
}
