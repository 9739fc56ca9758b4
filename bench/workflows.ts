// Workflows: a durable workflow of two steps, run one at a time and then 32 at a time for a
/* eslint-disable @typescript-eslint/require-await -- registered functions are async by contract; these do no I/O */
// fixed duration, by TableOS and by DBOS Transact side by side on the same Postgres server
// (each in its own database), synchronous_commit on.
import { DBOS } from '@dbos-inc/dbos-sdk';
import { silentLogger } from '../src/kernel/logger.js';
import { TableOS } from '../src/tableos.js';
import { benchDatabase } from './support/database.js';
import { mergeRounds, report, round, timed, type Figures } from './support/stats.js';

export async function main(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 6);
  const concurrency = Number(args[1] ?? 32);
  const db = await benchDatabase();
  const dbosUrl = await db.create('dbos');
  const os = await TableOS.open({ databaseUrl: db.url, logger: silentLogger, poolSize: 16 });
  try {
    const one = os.workflows.step('one', async (x: number) => x + 1);
    const two = os.workflows.step('two', async (x: number) => x * 2);
    const flow = os.workflows.workflow('two_steps', async (ctx, x: number) =>
      ctx.call(two, await ctx.call(one, x)),
    );
    // One ctx.send to the workflow's own mailbox and one ctx.recv of it.
    const echo = os.workflows.workflow('send_recv', async (ctx, x: number) => {
      await ctx.send(ctx.workflowId, x);
      return ctx.recv<number>({ timeoutMs: 10_000 });
    });
    const tableosMsg = async () => {
      const r = await (await echo.start([7])).result();
      if (r !== 7) throw new Error(`bad result ${String(r)}`);
    };
    const tableos = async () => {
      const r = await (await flow.start([1])).result();
      if (r !== 4) throw new Error(`bad result ${String(r)}`);
    };

    DBOS.setConfig({
      name: 'bench',
      systemDatabaseUrl: dbosUrl,
      logLevel: 'error',
      systemDatabasePoolSize: 16,
    });
    const dOne = DBOS.registerStep(async (x: number) => Promise.resolve(x + 1), { name: 'one' });
    const dTwo = DBOS.registerStep(async (x: number) => Promise.resolve(x * 2), { name: 'two' });
    const dFlow = DBOS.registerWorkflow(async (x: number) => dTwo(await dOne(x)), {
      name: 'two_steps',
    });
    const dEcho = DBOS.registerWorkflow(
      async (x: number) => {
        await DBOS.send(DBOS.workflowID!, x);
        return DBOS.recv<number>(undefined, 10);
      },
      { name: 'send_recv' },
    );
    await DBOS.launch();
    const dbosMsg = async () => {
      const r = await (await DBOS.startWorkflow(dEcho)(7)).getResult();
      if (r !== 7) throw new Error(`bad result ${String(r)}`);
    };
    const dbos = async () => {
      const r = await (await DBOS.startWorkflow(dFlow)(1)).getResult();
      if (r !== 4) throw new Error(`bad result ${String(r)}`);
    };
    try {
      await timed(tableos, 500, 4);
      await timed(dbos, 500, 4);
      // Alternating rounds, so a burst of load elsewhere on the machine hits both sides.
      const rounds = 3;
      const ms = (seconds * 1000) / rounds;
      const r = {
        tSeq: [] as Figures[],
        dSeq: [] as Figures[],
        tConc: [] as Figures[],
        dConc: [] as Figures[],
        tMsg: [] as Figures[],
        dMsg: [] as Figures[],
      };
      for (let i = 0; i < rounds; i++) {
        r.tSeq.push(await timed(tableos, ms, 1));
        r.dSeq.push(await timed(dbos, ms, 1));
        r.tConc.push(await timed(tableos, ms, concurrency));
        r.dConc.push(await timed(dbos, ms, concurrency));
      }
      // After the two-step rounds: each run's mailbox is a LISTEN channel of its own for a
      // while, which would weigh on the rounds above.
      await timed(tableosMsg, 300, 4);
      await timed(dbosMsg, 300, 4);
      for (let i = 0; i < rounds; i++) {
        r.tMsg.push(await timed(tableosMsg, ms / 2, concurrency));
        r.dMsg.push(await timed(dbosMsg, ms / 2, concurrency));
      }
      const [tMsg, dMsg] = [mergeRounds(r.tMsg), mergeRounds(r.dMsg)];
      const [tSeq, dSeq, tConc, dConc] = [
        mergeRounds(r.tSeq),
        mergeRounds(r.dSeq),
        mergeRounds(r.tConc),
        mergeRounds(r.dConc),
      ];
      console.log(`sequential: tableos ${line(tSeq)} | dbos ${line(dSeq)}`);
      console.log(`${concurrency} concurrent: tableos ${line(tConc)} | dbos ${line(dConc)}`);
      console.log(
        `send+recv, ${concurrency} concurrent: tableos ${line(tMsg)} | dbos ${line(dMsg)}`,
      );
      report({
        bench: 'workflows',
        tableos: { ...tConc, concurrency, sequential: tSeq },
        peer: { name: 'DBOS Transact 5.3', ...dConc, concurrency, sequential: dSeq },
        ratio: round(tConc.ops_s / dConc.ops_s, 2),
        ratio_sequential: round(tSeq.ops_s / dSeq.ops_s, 2),
        p50_fraction_sequential: round(tSeq.p50_ms / dSeq.p50_ms, 3),
        send_recv: {
          tableos: tMsg,
          peer: dMsg,
          concurrency,
          ratio: round(tMsg.ops_s / dMsg.ops_s, 2),
        },
      });
    } finally {
      await DBOS.shutdown();
    }
  } finally {
    await os.close();
    await db.close();
  }
}

function line(f: Figures): string {
  return `${f.ops_s} wf/s p50 ${f.p50_ms} ms p99 ${f.p99_ms} ms`;
}
