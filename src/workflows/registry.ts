// The code this process can run: procedures, steps and workflows registered by name (one
// namespace for the three), and what each registered object does when called directly.
import type { Sql } from '../kernel/database.js';
import type { WorkflowHandle } from './admin.js';
import { currentRun } from './current.js';
import { NotInWorkflowError, WorkflowConflictError } from './errors.js';
import type {
  ProcedureDef,
  ProcedureFn,
  ProcedureOptions,
  StartOptions,
  StepDef,
  StepFn,
  StepOptions,
  WorkflowDef,
  WorkflowFn,
  WorkflowOptions,
} from './types.js';
import { checkFn, checkMs, checkName } from './validate.js';

export interface Procedure<A extends unknown[], R> extends ProcedureDef<A, R> {
  /** Inside a workflow: ctx.call(this, ...args). Outside: runs it as a plain transaction. */
  run(...args: A): Promise<R>;
}
export interface Step<A extends unknown[], R> extends StepDef<A, R> {
  /** Only inside a workflow: ctx.call(this, ...args). */
  run(...args: A): Promise<R>;
}
export interface Workflow<A extends unknown[], R> extends WorkflowDef<A, R> {
  start(args: A, opts?: StartOptions): Promise<WorkflowHandle<R>>;
  /** Starts and waits for the result. */
  run(...args: A): Promise<R>;
}

export type AnyWorkflow = WorkflowDef<never[], unknown>;

/** A registered procedure, step or workflow, as an app's deployed functions list it. */
export interface RegisteredFunction {
  kind: 'procedure' | 'step' | 'workflow';
  name: string;
}

export interface RegistryDeps {
  sql: Sql;
  start<A extends unknown[], R>(
    wf: WorkflowDef<A, R>,
    args: A,
    opts?: StartOptions,
  ): Promise<WorkflowHandle<R>>;
  /** A workflow was registered: this process can now run (and take over) its runs. */
  registered(): void;
}

export class Registry {
  private readonly defs = new Map<string, AnyWorkflow>();
  private readonly names = new Set<string>();
  private readonly all: RegisteredFunction[] = [];

  constructor(private readonly d: RegistryDeps) {}

  /** The workflow registered under name. */
  get(name: string): AnyWorkflow | undefined {
    return this.defs.get(name);
  }

  /** Whether def is the workflow registered under its name (not a look-alike). */
  owns(def: { name: string } | undefined): boolean {
    return def !== undefined && this.defs.get(def.name) === def;
  }

  /** The names of the registered workflows. */
  workflowNames(): string[] {
    return [...this.defs.keys()];
  }

  /** Every registered procedure, step and workflow, in registration order. */
  functions(): readonly RegisteredFunction[] {
    return this.all;
  }

  get size(): number {
    return this.defs.size;
  }

  procedure<A extends unknown[], R>(
    name: string,
    fn: ProcedureFn<A, R>,
    options: ProcedureOptions = {},
  ): Procedure<A, R> {
    this.claimName(name, 'procedure', fn);
    const p: Procedure<A, R> = {
      kind: 'procedure',
      name,
      fn,
      options,
      run: async (...args: A) => {
        const ctx = currentRun.getStore();
        if (ctx) return ctx.call(p, ...args);
        return (await this.d.sql.begin(
          `isolation level ${options.isolation ?? 'read committed'}`,
          (tx) => fn(tx, ...args),
        )) as R;
      },
    };
    return p;
  }

  step<A extends unknown[], R>(
    name: string,
    fn: StepFn<A, R>,
    options: StepOptions = {},
  ): Step<A, R> {
    this.claimName(name, 'step', fn);
    const s: Step<A, R> = {
      kind: 'step',
      name,
      fn,
      options,
      run: (...args: A) => {
        const ctx = currentRun.getStore();
        if (!ctx) return Promise.reject(new NotInWorkflowError(`step ${name}`));
        return ctx.call(s, ...args);
      },
    };
    return s;
  }

  workflow<A extends unknown[], R>(
    name: string,
    fn: WorkflowFn<A, R>,
    options: WorkflowOptions = {},
  ): Workflow<A, R> {
    this.claimName(name, 'workflow', fn);
    checkMs(options.timeoutMs, 'timeoutMs');
    const w: Workflow<A, R> = {
      kind: 'workflow',
      name,
      fn,
      options,
      start: (args: A, opts?: StartOptions) => this.d.start(w, args, opts),
      run: async (...args: A) => (await this.d.start(w, args)).result(),
    };
    this.defs.set(name, w as unknown as AnyWorkflow);
    this.d.registered();
    return w;
  }

  private claimName(name: string, what: RegisteredFunction['kind'], fn: unknown): void {
    checkName(name, what);
    checkFn(fn, `${what} ${name}`);
    if (this.names.has(name))
      throw new WorkflowConflictError(
        `a procedure, step or workflow named ${name} is already registered`,
      );
    this.names.add(name);
    this.all.push({ kind: what, name });
  }
}
