// File-system errors: one class per POSIX condition, each with a stable TableOS code.
import { TableOSError } from '../kernel/errors.js';
import { PG } from '../kernel/pg-codes.js';
import { registerRaisedErrors } from '../kernel/query.js';

/**
 * SQLSTATE the fs procedures raise, as every TableOS procedure does; DETAIL carries the code,
 * TABLEOS_FS_ and the POSIX name (TABLEOS_FS_ENOENT).
 */
export const FS_SQLSTATE = PG.tableosError;

export type Errno =
  | 'ENOENT'
  | 'EEXIST'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'ENOTEMPTY'
  | 'EACCES'
  | 'EPERM'
  | 'EINVAL'
  | 'ELOOP'
  | 'ENAMETOOLONG'
  | 'EBUSY'
  | 'EFBIG';

export class FsError extends TableOSError {
  /** The POSIX error name, as Node's fs errors carry it. */
  readonly errno: Errno;

  constructor(errno: Errno, message: string, options?: { cause?: unknown }) {
    super(`TABLEOS_FS_${errno}`, message, options);
    this.errno = errno;
  }
}

export class FsNotFoundError extends FsError {}
export class FsExistsError extends FsError {}
export class FsNotDirectoryError extends FsError {}
export class FsIsDirectoryError extends FsError {}
export class FsNotEmptyError extends FsError {}
export class FsAccessError extends FsError {}
export class FsPermissionError extends FsError {}
export class FsInvalidError extends FsError {}
export class FsLoopError extends FsError {}
export class FsNameTooLongError extends FsError {}
export class FsBusyError extends FsError {}
export class FsTooLargeError extends FsError {}

const classes: Record<Errno, new (e: Errno, m: string, o?: { cause?: unknown }) => FsError> = {
  ENOENT: FsNotFoundError,
  EEXIST: FsExistsError,
  ENOTDIR: FsNotDirectoryError,
  EISDIR: FsIsDirectoryError,
  ENOTEMPTY: FsNotEmptyError,
  EACCES: FsAccessError,
  EPERM: FsPermissionError,
  EINVAL: FsInvalidError,
  ELOOP: FsLoopError,
  ENAMETOOLONG: FsNameTooLongError,
  EBUSY: FsBusyError,
  EFBIG: FsTooLargeError,
};

export function fsError(errno: string, message: string, cause?: unknown): FsError {
  const cls = classes[errno as Errno] ?? FsInvalidError;
  return new cls(
    errno in classes ? (errno as Errno) : 'EINVAL',
    message,
    cause === undefined ? undefined : { cause },
  );
}

registerRaisedErrors(
  Object.fromEntries(
    (Object.keys(classes) as Errno[]).map((errno) => [
      `TABLEOS_FS_${errno}`,
      (r) => fsError(errno, r.message, r.query),
    ]),
  ),
);
