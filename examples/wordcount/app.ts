// Word count as a serverless graph: a map per file (on the worker that holds the file),
// reduces in a tree of fan-ins, and a last node that writes the top words back as a file.
import type { TableOS } from '../../src/index.js';

export type Counts = Record<string, number>;

export function countWords(text: string): Counts {
  const counts: Counts = {};
  for (const w of text.toLowerCase().match(/[a-z][a-z'-]{2,}/g) ?? [])
    counts[w] = (counts[w] ?? 0) + 1;
  return counts;
}

/**
 * Registers the functions. `cache` holds the files this process holds (its shards): a map
 * on the holder reads memory, elsewhere it reads the file from the TableOS fs.
 */
export function registerWordcount(os: TableOS, cache: Map<string, string>): void {
  const s = os.serverless;
  s.fn(
    'wc.map',
    async (_ctx, path: string) => {
      const text = cache.get(path) ?? (await os.fs.readFile(path)).toString('utf8');
      return countWords(text);
    },
    { kind: 'step', memoryMb: 16 },
  );
  s.fn(
    'wc.reduce',
    (ctx) => {
      const total: Counts = {};
      for (const c of ctx.inputs as Counts[])
        for (const [w, n] of Object.entries(c)) total[w] = (total[w] ?? 0) + n;
      return total;
    },
    { kind: 'procedure', memoryMb: 32 },
  );
  s.fn(
    'wc.top',
    async (ctx, out: string, n: number) => {
      const top = Object.entries(ctx.inputs[0] as Counts)
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .slice(0, n);
      await os.fs.writeFile(out, top.map(([w, c]) => `${c}\t${w}`).join('\n') + '\n');
      return top.slice(0, 5);
    },
    { kind: 'step' },
  );
}

/** The graph: maps with a locality key (or none), reduces over groups of `fan`, the top-words node. */
export function wordcountGraph(files: string[], opts: { locality: boolean; fan: number }) {
  const nodes: { id: string; fn: string; args?: unknown[]; locality?: string }[] = [];
  const edges: [string, string][] = [];
  let level = files.map((f, i) => {
    const id = `map${i}`;
    nodes.push({ id, fn: 'wc.map', args: [f], ...(opts.locality ? { locality: `fs:${f}` } : {}) });
    return id;
  });
  for (let depth = 0; level.length > 1; depth++) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += opts.fan) {
      const id = `r${depth}.${i / opts.fan}`;
      nodes.push({ id, fn: 'wc.reduce' });
      for (const child of level.slice(i, i + opts.fan)) edges.push([child, id]);
      next.push(id);
    }
    level = next;
  }
  nodes.push({ id: 'top', fn: 'wc.top', args: ['/wordcount/top-words.txt', 50] });
  edges.push([level[0]!, 'top']);
  return { nodes, edges, retries: 2 };
}
