// App errors: one subclass per condition, each with a stable TABLEOS_APP_* code.
import { TableOSError } from '../kernel/errors.js';
import { registerRaisedErrors } from '../kernel/query.js';

/** The base of every app error. */
export class AppError extends TableOSError {}

/** The entry module named on the command line, in tableos.config.json, or by default is not there. */
export class AppEntryNotFoundError extends AppError {
  constructor(
    readonly entry: string,
    how: string,
  ) {
    super(
      'TABLEOS_APP_ENTRY_NOT_FOUND',
      `app entry ${entry} (${how}) does not exist; create it (tableos init scaffolds one) or name another: tableos start <entry>`,
    );
  }
}

/** The entry module threw while it was imported, or did not compile. */
export class AppLoadError extends AppError {
  constructor(
    readonly entry: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super('TABLEOS_APP_LOAD_FAILED', `app entry ${entry} failed to load: ${detail}`, options);
  }
}

/** The entry module exports no app, or an app that is not well formed. */
export class AppInvalidError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_APP_INVALID', message, options);
  }
}

/** The app's setup(os) threw: nothing of the app is recorded and the node does not start. */
export class AppSetupError extends AppError {
  constructor(
    readonly app: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super('TABLEOS_APP_SETUP_FAILED', `app ${app}: setup failed: ${detail}`, options);
  }
}

/** tableos.config.json is not valid JSON or has fields TableOS does not know. */
export class AppConfigError extends AppError {
  constructor(
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super('TABLEOS_APP_CONFIG_INVALID', `${file}: ${detail}`, options);
  }
}

/** A run was to be moved to a version of its app that was never deployed. */
export class AppVersionUnknownError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_APP_VERSION_UNKNOWN', message, options);
  }
}

/** tableos init would overwrite files that are there. */
export class AppInitExistsError extends AppError {
  constructor(
    readonly files: string[],
    dir: string,
  ) {
    super(
      'TABLEOS_APP_INIT_EXISTS',
      `tableos init: ${files.join(', ')} already exist in ${dir}; nothing was written. Choose an empty directory: tableos init <dir>`,
    );
  }
}

registerRaisedErrors({
  TABLEOS_APP_INVALID: (r) => new AppInvalidError(r.message, { cause: r.query }),
  TABLEOS_APP_VERSION_UNKNOWN: (r) => new AppVersionUnknownError(r.message, { cause: r.query }),
});
