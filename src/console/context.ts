// What the console's pages stand on: the node's kernel (SQL over the OS state), the workflow
// admin for cancel, resume and fork, and the file system, made only when a file page asks.
import type { FileSystem } from '../fs/file-system.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Workflows } from '../workflows/service.js';

export interface ConsoleContext {
  kernel: Kernel;
  workflows: Workflows;
  fs: (() => FileSystem) | undefined;
  /** The SQL page may run statements that write (otherwise: a READ ONLY transaction). */
  sqlWrite: boolean;
  /** Statement timeout of the SQL page, in ms. */
  sqlTimeoutMs: number;
}
