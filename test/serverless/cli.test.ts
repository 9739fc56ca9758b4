// tableos dag ls|show|cancel as a real process against a database with graphs in it.
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestDatabase, openTestOS } from '../support/db.js';
import { levels } from '../../src/cli/commands/dag-draw.js';
import type { DagNodeInfo } from '../../src/serverless/types.js';

describe('dag CLI', () => {
  it('lists, draws and cancels graphs; refuses unknown ids', async () => {
    const url = await createTestDatabase();
    const os = await openTestOS({ databaseUrl: url });
    const s = os.serverless;
    s.fn('num', (_ctx, n: number) => n, { kind: 'procedure', memoryMb: 8 });
    s.fn('sum', (ctx) => (ctx.inputs as number[]).reduce((a, b) => a + b, 0), {
      kind: 'procedure',
    });
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    s.fn('never', () => held, { kind: 'step' });
    await os.scheduler.start({ capacity: 2, pollMs: 200 });
    await (
      await s.submit(
        {
          nodes: [
            { id: 'a', fn: 'num', args: [1] },
            { id: 'b', fn: 'num', args: [2] },
            { id: 'total', fn: 'sum' },
          ],
          edges: [
            ['b', 'total'],
            ['a', 'total'],
          ],
        },
        { id: 'diamond' },
      )
    ).result();
    await s.submit(
      {
        nodes: [
          { id: 'stuck', fn: 'never' },
          { id: 'after', fn: 'sum' },
        ],
        edges: [['stuck', 'after']],
      },
      { id: 'stuck' },
    );

    const env = { DATABASE_URL: url };
    const ok = async (args: string[]) => {
      const r = await runCli(args, env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return r.stdout;
    };
    const ls = await ok(['dag', 'ls']);
    expect(ls).toMatch(/diamond \| done\s+\|\s+3 \|\s+0/);
    expect(ls).toMatch(/stuck\s+\| running \|\s+2 \|\s+2/);
    const show = await ok(['dag', 'show', 'diamond']);
    expect(show).toMatch(/^dag diamond: done, 3 nodes \(0 to finish\)/);
    expect(show).toMatch(/ {2}0 \| (a \[done\] {3}b \[done\]|b \[done\] {3}a \[done\])\n/);
    expect(show).toMatch(/ {2}1 \| total \[done\]\n/);
    expect(show).toContain('total <- b, a');
    expect(show).toMatch(/a\s+\| num\s+\| procedure \| done\s+\|\s+1 \| \S+\/0 \|\s+8 \|/);
    const json = JSON.parse(await ok(['dag', 'show', 'diamond', '--json'])) as {
      nodes: { id: string }[];
    };
    expect(json.nodes.map((n) => n.id).sort()).toEqual(['a', 'b', 'total']);
    expect(await ok(['dag', 'cancel', 'stuck'])).toMatch(/stuck \| cancelled/);
    expect(await ok(['dag', 'ls', '-s', 'cancelled'])).toMatch(/stuck/);
    expect(await ok(['dag', 'show', 'stuck'])).toMatch(/after \[cancelled\]/);

    const r = await runCli(['dag', 'show', 'nope'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no dag with id "nope" \[TABLEOS_DAG_NOT_FOUND\]/);
    release();
  });

  it('levels a graph by its longest path from a root', () => {
    const n = (id: string, parents: string[]) => ({ id, parents }) as unknown as DagNodeInfo;
    const got = levels([n('d', ['b', 'c']), n('c', ['a']), n('b', ['a', 'c']), n('a', [])]);
    expect(got.map((l) => l.map((x) => x.id))).toEqual([['a'], ['c'], ['b'], ['d']]);
  });
});
