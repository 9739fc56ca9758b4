// Loads an app's entry module: TypeScript or JavaScript, through tsx's ESM API (tsImport), so
// no build step is needed. The files the module loads from outside node_modules are hashed:
// that hash is the app's version when it declares none.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { errorMessage } from '../kernel/errors.js';
import type { AppIdentity } from '../kernel/executor-registry.js';
import { appOf, type AppDefinition } from './define.js';
import { AppInvalidError, AppLoadError } from './errors.js';

export interface LoadedApp {
  app: AppDefinition;
  /** Absolute path of the entry module. */
  entry: string;
  /** The declared version, or the code hash's first 12 hex digits. */
  version: string;
  /** sha256 of the hashed files (paths relative to the entry's directory, and contents). */
  codeHash: string;
  /** The files hashed: the entry and every module it loaded from outside node_modules. */
  files: string[];
}

/** The node's identity as an app executor. */
export function identityOf(loaded: LoadedApp): AppIdentity {
  return { name: loaded.app.name, version: loaded.version };
}

/** Hashes files (sorted by path, relative to root) into one sha256. */
export async function hashFiles(root: string, files: readonly string[]): Promise<string> {
  const h = crypto.createHash('sha256');
  for (const file of [...files].sort()) {
    h.update(path.relative(root, file).split(path.sep).join('/'));
    h.update('\0');
    h.update(await fs.readFile(file));
    h.update('\0');
  }
  return h.digest('hex');
}

export async function loadApp(entry: string): Promise<LoadedApp> {
  const loaded = new Set<string>([entry]);
  let mod: Record<string, unknown>;
  try {
    mod = (await tsImport(pathToFileURL(entry).href, {
      parentURL: import.meta.url,
      onImport: (url: string) => {
        if (!url.startsWith('file:')) return;
        const file = fileURLToPath(url);
        if (!file.split(path.sep).includes('node_modules')) loaded.add(file);
      },
    })) as Record<string, unknown>;
  } catch (err) {
    throw new AppLoadError(entry, errorMessage(err), { cause: err });
  }
  const app = appOf(mod);
  if (app === undefined)
    throw new AppInvalidError(
      `app entry ${entry} exports no app: export default defineApp({ name, setup(os) { ... } }) (defineApp from 'tableos')`,
    );
  const files = [...loaded];
  const codeHash = await hashFiles(path.dirname(entry), files);
  return { app, entry, version: app.version ?? codeHash.slice(0, 12), codeHash, files };
}
