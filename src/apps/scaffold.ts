// tableos init: the files of a new app (one route that runs one workflow, its config, its
// package.json and a test), written only when none of them exists yet.
import fs from 'node:fs/promises';
import path from 'node:path';
import { VERSION } from '../kernel/version.js';
import { CONFIG_FILE, DEFAULT_ENTRY } from './config.js';
import { AppInitExistsError } from './errors.js';

function appName(dir: string): string {
  const base = path
    .basename(path.resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 100);
  return base === '' ? 'app' : base;
}

function appModule(name: string): string {
  return `// The ${name} app: tableos start loads this module and runs setup(os) on the node.
import { defineApp } from 'tableos';
import { z } from 'zod';

export default defineApp({
  name: '${name}',
  setup(os) {
    // A step runs at most once per run: its result is recorded and replayed after a crash.
    const greet = os.workflows.step('greet', async (name: string) => \`hello, \${name}\`);
    const hello = os.workflows.workflow('hello', async (ctx, input: { name: string }) => {
      const greeting = await ctx.call(greet, input.name);
      return { greeting };
    });
    // POST /hello {"name":"ada"} -> {"greeting":"hello, ada"}; an Idempotency-Key header
    // makes a retried request run once.
    os.http.post('/hello', hello, {
      body: z.object({ name: z.string().min(1) }),
      response: z.object({ greeting: z.string() }),
    });
  },
});
`;
}

const TEST = `import { TableOS } from 'tableos';
import { afterAll, expect, it } from 'vitest';
import app from './tableos.app.js';

// Embedded PostgreSQL under .tableos/ unless DATABASE_URL is set.
const os = await TableOS.open({ logLevel: 'warn' });
await app.setup(os);
afterAll(() => os.close());

it('POST /hello runs the hello workflow', async () => {
  const res = await os.http.inject({ method: 'POST', url: '/hello', payload: { name: 'ada' } });
  expect(res.statusCode).toBe(200);
  expect(res.json()).toEqual({ greeting: 'hello, ada' });
});

it('a body without a name is refused', async () => {
  const res = await os.http.inject({ method: 'POST', url: '/hello', payload: {} });
  expect(res.statusCode).toBe(400);
});
`;

function packageJson(name: string): string {
  return (
    JSON.stringify(
      {
        name,
        version: '0.1.0',
        private: true,
        type: 'module',
        scripts: { start: 'tableos start', test: 'vitest run' },
        dependencies: { tableos: `^${VERSION}`, zod: '^4.0.0' },
        devDependencies: { vitest: '^4.0.0' },
      },
      null,
      2,
    ) + '\n'
  );
}

/** The files tableos init writes, by name. */
export function scaffoldFiles(dir: string): Record<string, string> {
  const name = appName(dir);
  return {
    [DEFAULT_ENTRY]: appModule(name),
    [CONFIG_FILE]: JSON.stringify({ entry: DEFAULT_ENTRY }, null, 2) + '\n',
    'package.json': packageJson(name),
    'tableos.app.test.ts': TEST,
  };
}

/** Writes a new app into dir (made if missing); refuses, writing nothing, if any file is there. */
export async function scaffold(dir: string): Promise<string[]> {
  const files = scaffoldFiles(dir);
  await fs.mkdir(dir, { recursive: true });
  const present: string[] = [];
  for (const f of Object.keys(files))
    if (
      await fs.stat(path.join(dir, f)).then(
        () => true,
        () => false,
      )
    )
      present.push(f);
  if (present.length > 0) throw new AppInitExistsError(present, path.resolve(dir));
  const written: string[] = [];
  for (const [f, text] of Object.entries(files)) {
    // 'wx': never overwrite, even a file that appeared since the check.
    await fs.writeFile(path.join(dir, f), text, { flag: 'wx' });
    written.push(f);
  }
  return written;
}
