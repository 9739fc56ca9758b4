// tableos init scaffolds an app that works: started with tableos start from the built CLI,
// its route answers over a real socket with the workflow's output, and its own test passes.
// A second init into the same directory refuses and changes nothing.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';
import { createTestDatabase } from '../support/db.js';
import { runFixture } from '../support/spawn.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

/** What npm install would give the app: tableos (this checkout), zod and vitest. */
async function linkModules(dir: string): Promise<void> {
  await fs.mkdir(path.join(dir, 'node_modules'));
  await fs.symlink(ROOT, path.join(dir, 'node_modules', 'tableos'));
  for (const m of ['zod', 'vitest'])
    await fs.symlink(path.join(ROOT, 'node_modules', m), path.join(dir, 'node_modules', m));
}

it('init scaffolds an app that tableos start serves', async () => {
  const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'tableos-init-'));
  dirs.push(parent);
  const dir = path.join(parent, 'hello-app');
  const init = await runCli(['init', dir]);
  expect(init.stderr).toBe('');
  expect(init.code).toBe(0);
  const files = ['package.json', 'tableos.app.test.ts', 'tableos.app.ts', 'tableos.config.json'];
  expect((await fs.readdir(dir)).sort()).toEqual(files);
  const pkg = JSON.parse(await fs.readFile(path.join(dir, 'package.json'), 'utf8')) as {
    name: string;
    dependencies: Record<string, string>;
  };
  expect(pkg.name).toBe('hello-app');
  expect(Object.keys(pkg.dependencies)).toEqual(['tableos', 'zod']);
  expect(JSON.parse(await fs.readFile(path.join(dir, 'tableos.config.json'), 'utf8'))).toEqual({
    entry: 'tableos.app.ts',
  });

  // Never overwrites: a second init names what is there and writes nothing.
  await fs.writeFile(path.join(dir, 'tableos.app.ts'), '// mine\n');
  const again = await runCli(['init', dir]);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain(
    'tableos.app.ts, tableos.config.json, package.json, tableos.app.test.ts already exist',
  );
  expect(again.stderr).toContain('[TABLEOS_APP_INIT_EXISTS]');
  expect(await fs.readFile(path.join(dir, 'tableos.app.ts'), 'utf8')).toBe('// mine\n');
  await fs.rm(dir, { recursive: true });
  expect((await runCli(['init', dir])).code).toBe(0);

  await linkModules(dir);
  const url = await createTestDatabase();
  const node = startCli(['start'], { DATABASE_URL: url, TABLEOS_HTTP_PORT: '0' }, { cwd: dir });
  try {
    const [, base] = await node.waitFor(/^ {2}http {6}(http:\/\/\S+)$/m);
    expect(node.stdout()).toMatch(/^ {2}app {7}hello-app [0-9a-f]{12} \(/m);
    const res = await fetch(`${base}/hello`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'first' },
      body: JSON.stringify({ name: 'ada' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ greeting: 'hello, ada' });
    const bad = await fetch(`${base}/hello`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: '' }),
    });
    expect(bad.status).toBe(400);
  } finally {
    node.child.kill('SIGTERM');
  }
  expect(await node.exited).toBe(0);

  // The scaffolded test passes as it is.
  const vitest = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const t = await runFixture(vitest, {
    args: ['run', '--root', dir],
    env: { DATABASE_URL: url, TABLEOS_LOG_LEVEL: 'warn', NO_COLOR: '1', FORCE_COLOR: undefined },
    timeoutMs: 90_000,
  });
  expect(t.stdout).toMatch(/Tests +2 passed/);
  expect(t.code).toBe(0);
}, 150_000);
