// npm run example:wordcount [WORKERS=2] [FILES=200]: imports a text corpus (the Debian license
// texts and package copyright files) into the TableOS fs, starts WORKERS executor processes
// that each hold a share of the files, and counts words with a graph: a map per file on the
// worker that holds it, reduces in a tree, the top words written back to the fs. It runs the
// graph with locality keys and without, and prints both makespans.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TableOS } from '../../src/index.js';
import { registerWordcount, wordcountGraph } from './app.js';

const workers = Number(process.argv[2] ?? 2);
const limit = Number(process.argv[3] ?? 200);
const here = path.dirname(fileURLToPath(import.meta.url));

function corpus(): string[] {
  const out: string[] = [];
  const add = (p: string) => {
    try {
      if (fs.statSync(p).isFile()) out.push(p);
    } catch {
      // not there on this system
    }
  };
  const lic = '/usr/share/common-licenses';
  if (fs.existsSync(lic)) for (const f of fs.readdirSync(lic)) add(path.join(lic, f));
  if (fs.existsSync('/usr/share/doc'))
    for (const d of fs.readdirSync('/usr/share/doc')) add(`/usr/share/doc/${d}/copyright`);
  return out.slice(0, limit);
}

const os = await TableOS.open({ logLevel: 'warn', executor: false });
const children: ChildProcess[] = [];
try {
  const sources = corpus();
  if (sources.length === 0) throw new RangeError('no corpus found under /usr/share');
  const files: string[] = [];
  await os.fs.mkdir('/corpus', { parents: true });
  await os.fs.mkdir('/wordcount', { parents: true });
  for (const [i, src] of sources.entries()) {
    const f = `/corpus/${i}-${src.replace(/^\/usr\/share\//, '').replace(/\//g, '_')}`;
    await os.fs.writeFile(f, fs.readFileSync(src));
    files.push(f);
  }
  console.log(`imported ${files.length} files into the TableOS fs under /corpus`);

  const o = os.sql.options as unknown as {
    host: string[];
    port: number[];
    user: string;
    pass?: string;
    database: string;
  };
  const url = new URL('postgres://localhost');
  url.hostname = o.host[0] ?? 'localhost';
  url.port = String(o.port[0] ?? 5432);
  url.username = o.user;
  if (o.pass) url.password = o.pass;
  url.pathname = `/${o.database}`;
  await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const mine = files.filter((_, i) => i % workers === w);
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'worker.ts')], {
        env: { ...process.env, DATABASE_URL: url.toString(), WC_FILES: mine.join('\n') },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      return new Promise<void>((resolve) =>
        child.stdout.on('data', (d: Buffer) => {
          process.stdout.write(`  worker ${w}: ${d.toString()}`);
          if (d.toString().includes('ready')) resolve();
        }),
      );
    }),
  );
  registerWordcount(os, new Map());
  const run = async (locality: boolean) => {
    const t0 = performance.now();
    const id = `wordcount-${locality ? 'local' : 'anywhere'}-${Date.now()}`;
    const out = await (
      await os.serverless.submit(wordcountGraph(files, { locality, fan: 8 }), { id })
    ).result();
    return { ms: performance.now() - t0, top: out.top, id };
  };
  const anywhere = await run(false);
  const local = await run(true);
  console.log(`top words: ${JSON.stringify(local.top)}`);
  console.log(`written to /wordcount/top-words.txt (tableos fs cat /wordcount/top-words.txt)`);
  console.log(
    `makespan with locality ${local.ms.toFixed(0)} ms, without ${anywhere.ms.toFixed(0)} ms ` +
      `(ratio ${(anywhere.ms / local.ms).toFixed(2)}); tableos dag show ${local.id}`,
  );
} finally {
  // The workers close (and mark their executors stopped) before the database goes.
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
  await os.close();
}
