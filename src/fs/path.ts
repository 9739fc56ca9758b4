// Checks done before a path or name reaches the database, and find's glob patterns.
import { FsInvalidError, FsNameTooLongError } from './errors.js';

export const MAX_PATH_BYTES = 4096;
export const MAX_NAME_BYTES = 255;

/** Postgres text cannot hold NUL, so NUL bytes are refused here with the POSIX code. */
export function checkPath(path: unknown, what = 'path'): string {
  if (typeof path !== 'string') {
    throw new FsInvalidError('EINVAL', `EINVAL: ${what} must be a string, got ${typeof path}`);
  }
  if (path.length === 0) throw new FsInvalidError('EINVAL', `EINVAL: empty ${what}`);
  if (path.includes('\0')) {
    throw new FsInvalidError('EINVAL', `EINVAL: ${what} contains a NUL byte`);
  }
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) {
    throw new FsNameTooLongError(
      'ENAMETOOLONG',
      `ENAMETOOLONG: ${what} longer than ${MAX_PATH_BYTES} bytes`,
    );
  }
  return path;
}

/** Joins a directory path and a name the way the procedures print paths. */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

export function baseName(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1) || '/';
}

/** Makes a CLI path absolute: TableOS paths have no working directory, so 'a/b' is '/a/b'. */
export function absolute(path: string): string {
  return path.startsWith('/') ? path : `/${path}`;
}

/** A shell glob (* ? [set] [!set], backslash escapes) as an anchored POSIX regular expression. */
export function globToRegex(glob: string): string {
  let out = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '\\' && i + 1 < glob.length) out += escapeRe(glob[++i]!);
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) {
        out += '\\[';
        continue;
      }
      let set = glob.slice(i + 1, close);
      if (set.startsWith('!')) set = '^' + set.slice(1);
      out += `[${set.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else out += escapeRe(c);
  }
  return out + '$';
}

function escapeRe(c: string): string {
  return /[.*+?^${}()|[\]\\]/.test(c) ? `\\${c}` : c;
}
