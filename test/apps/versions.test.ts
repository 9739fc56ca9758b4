// App versions in SQL, in process: a run records the app version of the executor that
// started it, recovery hands it only to an executor of that version, runs without a version
// go to any executor, and moving a run to another version refuses what it must refuse,
// changing nothing.
import { describe, expect, it } from 'vitest';
import { AppVersionUnknownError } from '../../src/apps/errors.js';
import { recordDeploy } from '../../src/apps/catalog.js';
import {
  WorkflowArgumentError,
  WorkflowConflictError,
  WorkflowFinishedError,
} from '../../src/workflows/errors.js';
import type { TableOS } from '../../src/tableos.js';
import { createTestDatabase, openTestOS } from '../support/db.js';
import { waitFor } from '../support/wait.js';

function register(os: TableOS, gate: { open: boolean }) {
  const wait = os.workflows.step('wait', async () => {
    await waitFor(() => gate.open, { timeoutMs: 60_000 });
    return os.executor?.app?.version ?? 'none';
  });
  return os.workflows.workflow('job', async (ctx) => ctx.call(wait));
}

async function deploy(os: TableOS, version: string, executor = true) {
  await recordDeploy(os.sql, {
    executorId: executor ? os.executor!.id : null,
    name: 'jobs',
    version,
    codeHash: `hash-${version}`,
    functions: [
      { kind: 'workflow', name: 'job', input_schema: null, output_schema: null, detail: null },
    ],
  });
}

async function row(os: TableOS, id: string) {
  const [r] = await os.sql<
    {
      status: string;
      executor_id: string;
      app_version: string | null;
      version_moved_from: string | null;
    }[]
  >`select status, executor_id, app_version, version_moved_from from tableos.workflow where id = ${id}`;
  return r!;
}

describe('app versions of runs', () => {
  it('recovery hands a run only to an executor of its version; unversioned runs to any', async () => {
    const url = await createTestDatabase();
    const opts = { databaseUrl: url, heartbeatMs: 100, leaseMs: 400, workflows: { pollMs: 100 } };
    const a = await openTestOS({ ...opts, app: { name: 'jobs', version: 'v1' } });
    const plain = await openTestOS(opts);
    await deploy(a, 'v1');
    const closed = { open: false };
    const jobA = register(a, closed);
    const jobPlain = register(plain, closed);
    await jobA.start([], { id: 'versioned' });
    await jobPlain.start([], { id: 'unversioned' });
    expect(await row(a, 'versioned')).toMatchObject({
      app_version: 'v1',
      executor_id: a.executor!.id,
    });
    expect((await row(a, 'unversioned')).app_version).toBeNull();

    // A v2 executor sees both runs' executors die; it takes only the unversioned one.
    const open = { open: true };
    const b = await openTestOS({ ...opts, app: { name: 'jobs', version: 'v2' } });
    await deploy(b, 'v2');
    register(b, open);
    await a.executor!.stop();
    await plain.executor!.stop();
    await waitFor(async () => (await row(b, 'unversioned')).status === 'success', {
      what: 'the unversioned run to finish on the v2 executor',
    });
    expect(await b.workflows.get('unversioned')).toMatchObject({ output: 'v2', appVersion: null });
    const stranded = await b.workflows.stranded();
    expect(stranded.map((r) => [r.id, r.appVersion])).toEqual([['versioned', 'v1']]);
    // b's claim that took 'unversioned' saw 'versioned' claimable too, and left it.
    expect(await row(b, 'versioned')).toMatchObject({
      status: 'pending',
      executor_id: a.executor!.id,
    });

    // Bad moves change nothing.
    await expect(b.workflows.moveVersion('versioned', 'v9')).rejects.toThrow(
      AppVersionUnknownError,
    );
    await expect(b.workflows.moveVersion('versioned', 'v9')).rejects.toThrow(
      /deployed versions are v1, v2/,
    );
    await expect(b.workflows.moveVersion('versioned', 'bad version')).rejects.toThrow(
      WorkflowArgumentError,
    );
    await expect(b.workflows.moveVersion('nope', 'v2')).rejects.toThrow(
      /no workflow with id "nope"/,
    );
    expect(await row(b, 'versioned')).toMatchObject({
      app_version: 'v1',
      version_moved_from: null,
    });

    // Moved on purpose, the v2 executor resumes it; the row says where it came from.
    expect(await b.workflows.moveVersion('versioned', 'v2')).toBe('v1');
    expect(await b.workflows.get('versioned').then((w) => w.versionMovedFrom)).toBe('v1');
    await waitFor(async () => (await row(b, 'versioned')).status === 'success', {
      what: 'the moved run to finish on the v2 executor',
    });
    expect(await b.workflows.get('versioned')).toMatchObject({
      output: 'v2',
      appVersion: 'v2',
      versionMovedFrom: 'v1',
      executorId: b.executor!.id,
    });
    expect(await b.workflows.stranded()).toEqual([]);
    await expect(b.workflows.moveVersion('versioned', 'v1')).rejects.toThrow(WorkflowFinishedError);
  }, 60_000);

  it('a run on a live executor, or one with no app, is not moved', async () => {
    const url = await createTestDatabase();
    const a = await openTestOS({ databaseUrl: url, app: { name: 'jobs', version: 'v1' } });
    const plain = await openTestOS({ databaseUrl: url });
    await deploy(a, 'v1');
    await deploy(a, 'v2', false);
    await expect(deploy(a, 'v3')).rejects.toThrow(/does not run app jobs version v3/);
    const closed = { open: false };
    await register(a, closed).start([], { id: 'live' });
    await register(plain, closed).start([], { id: 'plain' });
    await expect(a.workflows.moveVersion('live', 'v2')).rejects.toThrow(WorkflowConflictError);
    await expect(a.workflows.moveVersion('live', 'v2')).rejects.toThrow(
      /is running on live executor/,
    );
    await expect(a.workflows.moveVersion('plain', 'v2')).rejects.toThrow(
      /was not started by an app/,
    );
    expect(await row(a, 'live')).toMatchObject({ app_version: 'v1', version_moved_from: null });
    expect(await a.workflows.stranded()).toEqual([]);
    closed.open = true;
  });

  it('an app version that is not a plain name is refused at open', async () => {
    await expect(openTestOS({ app: { name: 'jobs', version: 'not ok' } })).rejects.toThrow(
      /app.version: use 1-100 letters/,
    );
  });
});
