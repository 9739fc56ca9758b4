// The node's data directory must exist and be writable before anything is put in it.
import fs from 'node:fs';
import path from 'node:path';
import { DataDirError, errorMessage } from '../errors.js';

/** Creates the directory if needed and proves it writable by writing a file there. */
export function prepareDataDir(dataDir: string): void {
  try {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.accessSync(dataDir, fs.constants.W_OK | fs.constants.X_OK);
    const probe = path.join(dataDir, `.probe-${process.pid}`);
    fs.writeFileSync(probe, '');
    fs.rmSync(probe);
  } catch (cause) {
    throw new DataDirError(
      dataDir,
      `${errorMessage(cause)}; set TABLEOS_DATA_DIR to a writable directory`,
      { cause },
    );
  }
}
