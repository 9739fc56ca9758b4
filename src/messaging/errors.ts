// Errors of the messaging service, each with a stable code.
import { TableOSError } from '../kernel/errors.js';

export class MailboxNotFoundError extends TableOSError {
  constructor(readonly mailbox: string) {
    super(
      'TABLEOS_MESSAGING_NO_MAILBOX',
      `no mailbox named ${JSON.stringify(mailbox)}; a mailbox exists once something was sent to it or it was created with createMailbox`,
    );
  }
}

export class BadMailboxNameError extends TableOSError {
  constructor(name: unknown) {
    super(
      'TABLEOS_MESSAGING_BAD_MAILBOX',
      `invalid mailbox name ${describe(name)}: use 1-128 characters, letters, digits and . _ : @ / -, starting with a letter or digit`,
    );
  }
}

export class BadTopicError extends TableOSError {
  constructor(topic: unknown) {
    super(
      'TABLEOS_MESSAGING_BAD_TOPIC',
      `invalid topic ${describe(topic)}: use 1-64 characters, letters, digits and . _ : / -, starting with a letter or digit`,
    );
  }
}

export class MessageTooLargeError extends TableOSError {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      'TABLEOS_MESSAGING_TOO_LARGE',
      `message is ${bytes} bytes as JSON, over the limit of ${limit} bytes; store large data elsewhere (e.g. a file) and send a reference`,
    );
  }
}

export class BadMessageError extends TableOSError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('TABLEOS_MESSAGING_BAD_MESSAGE', `message cannot be sent: ${detail}`, options);
  }
}

export class BadOptionError extends TableOSError {
  constructor(message: string) {
    super('TABLEOS_MESSAGING_BAD_OPTION', message);
  }
}

export class CallTimeoutError extends TableOSError {
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
export class RemoteError extends TableOSError {
  constructor(
    readonly service: string,
    readonly remoteCode: string | undefined,
    message: string,
  ) {
    super('TABLEOS_MESSAGING_REMOTE', `service ${JSON.stringify(service)} failed: ${message}`);
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? v.slice(0, 80) + '...' : v);
  return `of type ${v === null ? 'null' : typeof v}`;
}
