// Which module is the app: the command line's entry, else tableos.config.json's entry, else
// tableos.app.ts in the current directory (when there is none, the node runs no app).
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { errorMessage } from '../kernel/errors.js';
import { AppConfigError, AppEntryNotFoundError } from './errors.js';

export const CONFIG_FILE = 'tableos.config.json';
export const DEFAULT_ENTRY = 'tableos.app.ts';

const configSchema = z.strictObject({
  $schema: z.string().optional(),
  /** The app's entry module, relative to the config file. */
  entry: z.string().min(1).optional(),
});

export type AppConfig = z.infer<typeof configSchema>;

export interface ResolvedEntry {
  /** Absolute path of the entry module. */
  file: string;
  /** Where it was named, for error messages. */
  how: string;
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** Reads tableos.config.json in dir; undefined when there is none. */
export async function readConfig(dir: string): Promise<AppConfig | undefined> {
  const file = path.join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
    throw new AppConfigError(file, `cannot be read: ${errorMessage(err)}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new AppConfigError(file, `is not valid JSON: ${errorMessage(err)}`, { cause: err });
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success)
    throw new AppConfigError(
      file,
      parsed.error.issues
        .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ` : '') + i.message)
        .join('; '),
    );
  return parsed.data;
}

/** The entry module to load, or undefined when none is named and the default is absent. */
export async function resolveEntry(
  cwd: string,
  arg: string | undefined,
): Promise<ResolvedEntry | undefined> {
  if (arg !== undefined) {
    const file = path.resolve(cwd, arg);
    if (!(await exists(file))) throw new AppEntryNotFoundError(file, 'named on the command line');
    return { file, how: 'named on the command line' };
  }
  const config = await readConfig(cwd);
  if (config?.entry !== undefined) {
    const file = path.resolve(cwd, config.entry);
    const how = `the entry in ${path.join(cwd, CONFIG_FILE)}`;
    if (!(await exists(file))) throw new AppEntryNotFoundError(file, how);
    return { file, how };
  }
  const file = path.join(cwd, DEFAULT_ENTRY);
  return (await exists(file)) ? { file, how: 'the default entry' } : undefined;
}
