// Row shapes coming back from the procedures, and their conversion to the public types.
import { KINDS, type FileType, type ListEntry, type Stats, type WalkEntry } from './types.js';

export interface StatRow {
  ino: string;
  kind: string;
  mode: number;
  uid: number;
  gid: number;
  size: string;
  nlink: number;
  atime: Date;
  mtime: Date;
  ctime: Date;
  target: string | null;
}

export function kindName(kind: string): FileType {
  return KINDS[kind] ?? 'file';
}

export function toStats(r: StatRow): Stats {
  return {
    ino: Number(r.ino),
    type: kindName(r.kind),
    mode: r.mode,
    uid: r.uid,
    gid: r.gid,
    size: Number(r.size),
    nlink: r.nlink,
    atime: r.atime,
    mtime: r.mtime,
    ctime: r.ctime,
    target: r.target,
  };
}

export interface WalkRow {
  path: string;
  depth: number;
  name: string;
  ino: string | number;
  kind: string;
}

export function toWalk(r: WalkRow): WalkEntry {
  return { path: r.path, depth: r.depth, name: r.name, ino: Number(r.ino), type: kindName(r.kind) };
}

export interface ListRow extends WalkRow {
  mode: number;
  uid: number;
  gid: number;
  size: string | number;
  nlink: number;
  /** A Date from a row, an ISO string from JSON. */
  mtime: Date | string;
  target: string | null;
}

export function toList(r: ListRow): ListEntry {
  return {
    ...toWalk(r),
    mode: r.mode,
    uid: r.uid,
    gid: r.gid,
    size: Number(r.size),
    nlink: r.nlink,
    mtime: r.mtime instanceof Date ? r.mtime : new Date(r.mtime),
    target: r.target,
  };
}
