// tableos init [dir]: scaffold a working app (one route, one workflow, a test) in dir.
import path from 'node:path';
import type { Command } from 'commander';
import { scaffold } from '../../apps/scaffold.js';

export function register(program: Command): void {
  program
    .command('init [dir]')
    .description(
      'scaffold an app in dir (default: here): tableos.app.ts with one HTTP route running one workflow, tableos.config.json, package.json and a test; existing files are never overwritten',
    )
    .action(async (dir: string | undefined) => {
      const target = path.resolve(dir ?? '.');
      const written = await scaffold(target);
      for (const f of written) process.stdout.write(`created ${path.join(target, f)}\n`);
      process.stdout.write(
        `\nnext:\n  cd ${target}\n  npm install\n  npx tableos start    # then: curl -X POST localhost:8080/hello -H 'content-type: application/json' -d '{"name":"ada"}'\n`,
      );
    });
}
