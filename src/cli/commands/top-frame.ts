// One frame of `tableos top`: executors, queues, tasks and runs by status, and the rate at
// which runs start, from one snapshot (and the one before it, for rates between frames).
import type { Snapshot } from '../../console/snapshot.js';
import { TASK_STATES, WORKFLOW_STATUSES } from '../../console/snapshot.js';
import { formatTable } from '../format.js';

export interface Frame {
  snap: Snapshot;
  at: Date;
}

/** Runs finished per second between two frames, from the counts of the last hour. */
function finishedRate(now: Frame, before: Frame | undefined): string {
  if (before === undefined) return '-';
  const done = (s: Snapshot) =>
    (s.workflows.success ?? 0) + (s.workflows.error ?? 0) + (s.workflows.cancelled ?? 0);
  const secs = (now.at.getTime() - before.at.getTime()) / 1000;
  if (secs <= 0) return '-';
  return Math.max(0, (done(now.snap) - done(before.snap)) / secs).toFixed(1);
}

export function renderFrame(now: Frame, before: Frame | undefined, interactive: boolean): string {
  const s = now.snap;
  const alive = s.executors.filter((e) => e.status === 'alive').length;
  const lines = [
    `TableOS top  ${now.at.toISOString()}${interactive ? '  (q to quit)' : ''}`,
    '',
    `executors: ${alive} alive`,
    formatTable(
      s.executors.map((e) => ({
        id: e.id,
        host: e.host,
        pid: e.pid,
        status: e.status,
        heartbeat_s: e.heartbeatAgeS,
        lease_s: e.status === 'alive' ? e.leaseLeftS : null,
      })),
      ['id', 'host', 'pid', 'status', 'heartbeat_s', 'lease_s'],
    ),
    '',
    `queues: ${s.queues.length}`,
    formatTable(
      s.queues.map((q) => ({
        queue: q.name,
        policy: q.policy,
        paused: q.paused ? 'yes' : 'no',
        depth: q.depth,
        running: q.running,
      })),
      ['queue', 'policy', 'paused', 'depth', 'running'],
    ),
    '',
    `tasks: ${TASK_STATES.map((st) => `${st} ${s.tasks[st] ?? 0}`).join('  ')}`,
    `workflows (last hour): ${WORKFLOW_STATUSES.map((st) => `${st} ${s.workflows[st] ?? 0}`).join('  ')}`,
    `pending in all: ${s.pending}`,
    `rates: started ${(s.startedLastMinute / 60).toFixed(1)}/s (last minute)  finished ${finishedRate(now, before)}/s (since last frame)`,
  ];
  return lines.join('\n') + '\n';
}
