// The processes attached to a running embedded server, one empty file per pid under
// clients/, so that the last one to leave knows to stop the server.
import fs from 'node:fs';
import path from 'node:path';
import { processAlive } from './pid-file.js';

export class ClientRegistry {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'clients');
  }

  /** Registers this process. */
  add(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(this.file(process.pid), '');
  }

  /** Unregisters this process. */
  remove(): void {
    fs.rmSync(this.file(process.pid), { force: true });
  }

  /** Pids of processes still using the server; files of dead ones are removed. */
  live(): number[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    return names.map(Number).filter((pid) => {
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) return true;
      fs.rmSync(this.file(pid), { force: true });
      return false;
    });
  }

  private file(pid: number): string {
    return path.join(this.dir, String(pid));
  }
}
