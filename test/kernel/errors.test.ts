import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  QueryError,
  TableOSError,
  type ErrorCode,
} from '../../src/kernel/errors.js';
import { PG } from '../../src/kernel/pg-codes.js';
import { runQuery } from '../../src/kernel/query.js';
import type { TableOS } from '../../src/tableos.js';
import { FsError, FsNotEmptyError, FsNotFoundError } from '../../src/fs/errors.js';
import {
  BadMailboxNameError,
  BadOptionError,
  MailboxNotFoundError,
  MessagingError,
} from '../../src/messaging/errors.js';
import {
  PolicyChoiceError,
  SchedulerBusyError,
  SchedulerError,
  UnknownPolicyError,
} from '../../src/scheduler/errors.js';
import {
  WorkflowArgumentError,
  WorkflowError,
  WorkflowFinishedError,
  WorkflowNotFoundError,
} from '../../src/workflows/errors.js';
import { openTestOS } from '../support/db.js';

async function failure(p: Promise<unknown>): Promise<TableOSError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TableOSError);
  return err as TableOSError;
}

/** The statement behind a translated error: its cause, with the raised code as DETAIL. */
function raisedBy(err: TableOSError, query: string, params: unknown[]): void {
  expect(err.cause).toBeInstanceOf(QueryError);
  const q = err.cause as QueryError;
  expect(q.query).toBe(query);
  expect(q.params).toEqual(params);
  expect(q.sqlState).toBe(PG.tableosError);
  expect((q.cause as { detail?: string }).detail).toBe(err.code);
}

const count = async (os: TableOS, table: string) =>
  Number(
    (await os.sql.unsafe<{ n: string }[]>(`select count(*) as n from tableos.${table}`))[0]!.n,
  );

describe('errors raised in SQL', () => {
  it('become the class registered for their code, with code, message and cause', async () => {
    const os = await openTestOS({ executor: false });
    const cases: [ErrorCode, abstract new (...a: never[]) => TableOSError][] = [
      ['TABLEOS_INVALID_ARGUMENT', InvalidArgumentError],
      ['TABLEOS_WORKFLOW_FINISHED', WorkflowFinishedError],
      ['TABLEOS_WORKFLOW_BAD_ARGUMENT', WorkflowArgumentError],
      ['TABLEOS_SCHED_BUSY', SchedulerBusyError],
      ['TABLEOS_MESSAGING_BAD_OPTION', BadOptionError],
      ['TABLEOS_FS_ENOTEMPTY', FsNotEmptyError],
    ];
    for (const [code, cls] of cases) {
      const err = await failure(os.call('tableos.raise_error', code, `${code} happened`));
      expect(err).toBeInstanceOf(cls);
      expect(err.code).toBe(code);
      expect(err.message).toBe(`${code} happened`);
      raisedBy(err, 'tableos.raise_error', [code, `${code} happened`]);
    }
    // Each service's classes share its base.
    const fs = await failure(os.fs.readFile('/missing'));
    expect(fs).toBeInstanceOf(FsNotFoundError);
    expect(fs).toBeInstanceOf(FsError);
    expect((fs as FsError).errno).toBe('ENOENT');
    expect(fs.message).toBe("ENOENT: no such file or directory, '/missing'");

    const wf = await failure(os.workflows.resume('no-such-run'));
    expect(wf).toBeInstanceOf(WorkflowNotFoundError);
    expect(wf).toBeInstanceOf(WorkflowError);
    expect((wf as WorkflowNotFoundError).workflowId).toBe('no-such-run');
    expect(wf.message).toBe('no workflow with id "no-such-run"');
    raisedBy(wf, 'tableos.wf_resume', ['no-such-run']);

    const mb = await failure(os.messaging.peek('nobody'));
    expect(mb).toBeInstanceOf(MailboxNotFoundError);
    expect(mb).toBeInstanceOf(MessagingError);
    expect((mb as MailboxNotFoundError).mailbox).toBe('nobody');
    raisedBy(mb, 'tableos.msg_peek', ['nobody', null, 100]);

    const sched = await failure(os.scheduler.setPolicy('no-queue', 'fifo'));
    expect(sched).toBeInstanceOf(SchedulerError);
    expect(sched.code).toBe('TABLEOS_SCHED_UNKNOWN_QUEUE');
  });

  it('keep an unregistered code as a QueryError that names it', async () => {
    const os = await openTestOS({ executor: false });
    const err = await failure(os.call('tableos.raise_error', 'TABLEOS_NOBODY_KNOWS', 'odd'));
    expect(err).toBeInstanceOf(QueryError);
    expect((err as QueryError).sqlState).toBe(PG.tableosError);
    expect((err.cause as { detail?: string }).detail).toBe('TABLEOS_NOBODY_KNOWS');
  });
});

describe('a failing statement', () => {
  it('becomes a QueryError with the query name and parameters', async () => {
    const os = await openTestOS({ executor: false });
    const err = await failure(
      runQuery('divide', [1, 0], () => os.sql`select ${1}::int / ${0}::int`),
    );
    expect(err).toBeInstanceOf(QueryError);
    const q = err as QueryError;
    expect(q.code).toBe('TABLEOS_QUERY_FAILED');
    expect(q.query).toBe('divide');
    expect(q.params).toEqual([1, 0]);
    expect(q.sqlState).toBe('22012'); // division_by_zero
    expect(q.message).toBe('divide: division by zero');
    expect(q.cause).toBeInstanceOf(Error);
    // A TableOS error thrown inside passes through unwrapped.
    const inner = new WorkflowArgumentError('mine');
    expect(await failure(runQuery('x', [], () => Promise.reject(inner)))).toBe(inner);
  });
});

describe('bad input leaves the state as it was', () => {
  it('kernel: an invalid executor id registers nothing', async () => {
    const os = await openTestOS({ executor: false });
    const before = await count(os, 'executor');
    const err = await failure(os.call('tableos.executor_register', 'bad id!', 'h', 1, 'v', 1000));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(/invalid executor id 'bad id!'/);
    expect(await count(os, 'executor')).toBe(before);
  });

  it('workflows: forking onto a taken id or resuming a finished run changes nothing', async () => {
    const os = await openTestOS();
    const flow = os.workflows.workflow('twice', (_ctx, n: number) => Promise.resolve(n * 2));
    expect(await (await flow.start([2], { id: 'w-a' })).result()).toBe(4);
    expect(await (await flow.start([3], { id: 'w-b' })).result()).toBe(6);
    const before = await os.sql`select * from tableos.workflow order by id`;

    const taken = await failure(os.workflows.fork('w-a', { newId: 'w-b' }));
    expect(taken).toBeInstanceOf(WorkflowArgumentError);
    expect(taken.message).toBe('a workflow with that id already exists');
    raisedBy(taken, 'tableos.wf_fork', ['w-a', 2 ** 31 - 1, 'w-b']);

    const finished = await failure(os.workflows.resume('w-a'));
    expect(finished).toBeInstanceOf(WorkflowFinishedError);
    expect(finished.message).toMatch(/already finished successfully; fork it/);

    expect(await os.sql`select * from tableos.workflow order by id`).toEqual(before);
  });

  it('scheduler: an unknown policy or a policy choosing a non-candidate queues nothing', async () => {
    const os = await openTestOS({ executor: false });
    await os.sql`select tableos.executor_register('e1', 'h', 1, 'x', 60000)`;
    await os.sql`select * from tableos.sched_worker_register('e1', 0, 2, null, '{}'::text[], null)`;
    const s = os.scheduler;
    await s.queue('q', { policy: 'fifo' });

    const unknown = await failure(s.setPolicy('q', 'no_such_policy'));
    expect(unknown).toBeInstanceOf(UnknownPolicyError);
    expect((await s.getQueue('q')).policy).toBe('fifo');

    await os.sql.unsafe(`
      create function public.elsewhere(t tableos.task, c tableos.worker[]) returns text
      language sql stable as $$ select 'not-a-worker' $$`);
    await s.addPolicy('elsewhere', 'public.elsewhere');
    await s.setPolicy('q', 'elsewhere');
    const tasks = await count(os, 'task');
    const bad = await failure(s.enqueue('q', 'k'));
    expect(bad).toBeInstanceOf(PolicyChoiceError);
    expect(bad.message).toMatch(
      /policy elsewhere chose worker not-a-worker which is not a candidate/,
    );
    expect(await count(os, 'task')).toBe(tasks);
  });

  it('messaging: a batch with one bad mailbox name sends nothing', async () => {
    const os = await openTestOS({ executor: false });
    await os.messaging.send('ok', 'first');
    const before = await count(os, 'message');
    const err = await failure(
      os.call(
        'tableos.msg_send',
        ['ok', 'bad name'],
        ['me', 'me'],
        [null, null],
        [null, null],
        [null, null],
        ['1', '2'],
        [],
        [],
      ),
    );
    expect(err).toBeInstanceOf(BadMailboxNameError);
    expect(err.message).toMatch(/^invalid mailbox name "bad name": use 1-128 characters/);
    expect(await count(os, 'message')).toBe(before);
    const retention = await failure(os.call('tableos.msg_create', 'ok', -5));
    expect(retention).toBeInstanceOf(BadOptionError);
    expect((await os.messaging.stats('ok'))[0]?.retentionS).toBe(7 * 24 * 3600);
  });

  it('fs: removing a non-empty directory keeps it and its files', async () => {
    const os = await openTestOS({ executor: false });
    await os.fs.mkdir('/d');
    await os.fs.writeFile('/d/f', 'data');
    const err = await failure(os.fs.rmdir('/d'));
    expect(err).toBeInstanceOf(FsNotEmptyError);
    expect(err.code).toBe('TABLEOS_FS_ENOTEMPTY');
    expect(err.message).toBe("ENOTEMPTY: directory not empty, '/d'");
    expect((err.cause as QueryError).query).toBe('tableos.fs_rmdir_once');
    expect((await os.fs.readFile('/d/f')).toString()).toBe('data');
  });
});
