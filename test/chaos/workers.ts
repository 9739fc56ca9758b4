// The chaos controller's worker processes: one per slot, replaced whenever one exits while
// the run goes on. An exit the controller did not cause (neither its SIGKILL nor its
// SIGTERM at the end) is recorded as a crash, with the worker's stderr.
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface SpawnedExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Spawned {
  child: ChildProcessByStdio<null, Readable, Readable>;
  exited: Promise<SpawnedExit>;
}

/** Starts a .ts file as a child process (test/support/process.ts startFixture). */
export type Spawner = (
  file: string,
  opts: { env: Record<string, string | undefined>; timeoutMs: number },
) => Spawned;

export type Phase = 'start' | 'chaos' | 'drain' | 'stop';

export interface Crash {
  slot: number;
  pid: number | undefined;
  phase: Phase;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What went wrong when it is not the exit itself (no exit after SIGTERM, a spawn error). */
  reason?: string;
  /** The end of the worker's stderr. */
  stderr: string;
}

interface Worker {
  slot: number;
  proc: Spawned;
  /** Set when the controller kills or stops it: its exit is then no crash. */
  expected: 'kill' | 'stop' | undefined;
  exited: boolean;
  crashed: boolean;
  /** Resolves when it reports ready; rejects if it exits before. */
  ready: Promise<void>;
  done: Promise<void>;
}

const STDERR_TAIL = 1500;
const tail = (s: string) => (s.length > STDERR_TAIL ? `...${s.slice(-STDERR_TAIL)}` : s);

export class WorkerPool {
  phase: Phase = 'start';
  readonly crashes: Crash[] = [];
  /** Failures the workers' loops retried past, by kind and error. */
  readonly retried: Record<string, Record<string, number>> = {};
  private readonly all = new Set<Worker>();
  private readonly current = new Map<number, Worker>();

  constructor(
    private readonly spawn: Spawner,
    private readonly file: string,
    private readonly env: (slot: number) => Record<string, string>,
    private readonly lifetimeMs: number,
  ) {}

  /** Starts one worker per slot and waits until each has opened TableOS. */
  async start(slots: number, readyMs: number): Promise<void> {
    const ready = Array.from({ length: slots }, (_, slot) => this.launch(slot).ready);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`workers not ready within ${readyMs} ms`)),
        readyMs,
      );
    });
    try {
      await Promise.race([Promise.all(ready), late]);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`${why}; crashes: ${JSON.stringify(this.crashes)}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILLs one running worker, picked by rand; its exit brings a replacement. */
  killOne(rand: () => number): boolean {
    const live = [...this.current.values()].filter((w) => !w.exited && w.expected === undefined);
    const w = live[Math.floor(rand() * live.length)];
    if (w === undefined) return false;
    w.expected = 'kill';
    w.proc.child.kill('SIGKILL');
    return true;
  }

  /** SIGTERMs every worker and waits for them; one still running after graceMs is a crash. */
  async stop(graceMs: number): Promise<void> {
    this.phase = 'stop';
    for (const w of this.all) {
      if (w.exited) continue;
      w.expected ??= 'stop';
      w.proc.child.kill('SIGTERM');
    }
    await Promise.all(
      [...this.all].map(async (w) => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), graceMs)));
        const how = await Promise.race([w.done.then(() => 'exited' as const), late]);
        clearTimeout(timer);
        if (how === 'late') {
          this.crash(w, null, null, `no exit within ${graceMs} ms of SIGTERM`, '');
          w.proc.child.kill('SIGKILL');
          await w.done;
        }
      }),
    );
  }

  /** Kills whatever is left, after a failure of the controller itself. */
  killAll(): void {
    for (const w of this.all) if (!w.exited) w.proc.child.kill('SIGKILL');
  }

  private launch(slot: number): Worker {
    const proc = this.spawn(this.file, { env: this.env(slot), timeoutMs: this.lifetimeMs });
    let markReady: () => void = () => undefined;
    let notReady: (err: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      notReady = reject;
    });
    // Only the first workers' readiness is awaited; a replacement's is not.
    ready.catch(() => undefined);
    const w: Worker = {
      slot,
      proc,
      expected: undefined,
      exited: false,
      crashed: false,
      ready,
      done: Promise.resolve(),
    };
    this.all.add(w);
    this.current.set(slot, w);
    let buf = '';
    proc.child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        this.event(buf.slice(0, i), markReady);
        buf = buf.slice(i + 1);
      }
    });
    w.done = proc.exited
      .then(
        (e) => this.exited(w, e.code, e.signal, undefined, e.stderr),
        (err: unknown) => this.exited(w, null, null, String(err), ''),
      )
      .finally(() => notReady(new Error(`the worker of slot ${slot} exited before it was ready`)));
    return w;
  }

  private event(line: string, markReady: () => void): void {
    let e: { event?: string; error?: string };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      return;
    }
    if (e.event === 'ready') return markReady();
    if (e.event === undefined) return;
    const byError = (this.retried[e.event] ??= {});
    const key = e.error ?? '?';
    byError[key] = (byError[key] ?? 0) + 1;
  }

  private exited(
    w: Worker,
    code: number | null,
    signal: NodeJS.Signals | null,
    reason: string | undefined,
    stderr: string,
  ): void {
    w.exited = true;
    // Stopped before its SIGTERM handler was installed (still opening), it dies of the signal.
    const clean =
      (w.expected === 'kill' && signal === 'SIGKILL') ||
      (w.expected === 'stop' && (code === 0 || signal === 'SIGTERM') && reason === undefined);
    if (!clean) this.crash(w, code, signal, reason, stderr);
    if (this.current.get(w.slot) === w && (this.phase === 'chaos' || this.phase === 'drain')) {
      // A worker that crashed is replaced a little later, so one that cannot start does not spin.
      const delay = w.expected === 'kill' ? 0 : 250;
      setTimeout(() => {
        if (this.current.get(w.slot) === w && this.phase !== 'stop') this.launch(w.slot);
      }, delay);
    }
  }

  private crash(
    w: Worker,
    code: number | null,
    signal: NodeJS.Signals | null,
    reason: string | undefined,
    stderr: string,
  ): void {
    if (w.crashed) return;
    w.crashed = true;
    this.crashes.push({
      slot: w.slot,
      pid: w.proc.child.pid,
      phase: this.phase,
      code,
      signal,
      ...(reason === undefined ? {} : { reason }),
      stderr: tail(stderr),
    });
  }
}
