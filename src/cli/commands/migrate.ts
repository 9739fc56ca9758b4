// tableos migrate: apply pending migrations and exit.
import type { Command } from 'commander';
import { migrate } from '../../kernel/migrator.js';
import { withOS } from '../context.js';

export function register(program: Command): void {
  program
    .command('migrate')
    .description('apply pending migrations to the database and exit')
    .action(async (_opts: unknown, cmd: Command) => {
      await withOS(
        cmd,
        async (os) => {
          const { applied, version } = await migrate(os.sql, os.log);
          for (const name of applied) console.log(`applied ${name}`);
          console.log(
            `schema at ${version ?? '(none)'}${applied.length === 0 ? ', up to date' : ''}`,
          );
        },
        { migrate: false },
      );
    });
}
