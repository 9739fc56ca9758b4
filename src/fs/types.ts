// Public shapes of the file-system API.

/** Who is calling: checked against owner, group and mode bits in every procedure. */
export interface Identity {
  uid: number;
  /** Groups of the caller; the first is the group of files it creates. */
  gids: number[];
}

export type FileType = 'file' | 'directory' | 'symlink';

export interface Stats {
  ino: number;
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  atime: Date;
  mtime: Date;
  ctime: Date;
  /** Symlinks only: the stored target. */
  target: string | null;
}

export interface DirEntry {
  name: string;
  ino: number;
  type: FileType;
}

export interface WalkEntry {
  path: string;
  depth: number;
  name: string;
  ino: number;
  type: FileType;
}

export interface ListEntry extends WalkEntry {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  mtime: Date;
  target: string | null;
}

export interface FindOptions {
  /** Shell glob on the entry's name. */
  name?: string;
  type?: 'f' | 'd' | 'l';
  /** find's -size: '+N', '-N' or 'N', with an optional unit c, k, M, G (default 512-byte blocks). */
  size?: string;
  /** Only entries modified after this path's mtime. */
  newer?: string;
  maxDepth?: number;
  /** Pre-order by name (default), or false for database order, as find prints directory order. */
  sorted?: boolean;
}

export type OpenFlags = 'r' | 'r+' | 'w' | 'w+' | 'wx' | 'a' | 'a+' | 'ax';

export const KINDS: Record<string, FileType> = { f: 'file', d: 'directory', l: 'symlink' };
