// Structured logging: one pino root, child loggers carry executor/workflow/task context.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.TABLEOS_LOG_LEVEL ?? 'info'): Logger {
  // Logs go to stderr so that command output on stdout stays clean for pipes.
  return pino({ name: 'tableos', level }, pino.destination({ fd: 2, sync: true }));
}

export const silentLogger: Logger = pino({ level: 'silent' });
