// The functions nodes run, registered in this process by os.serverless.fn.
import type { DagFnImpl, DagFnOptions, DagFunction } from './types.js';
import { DagInvalidError, DagUnknownFunctionError } from './errors.js';

export const FN_NAME = /^[A-Za-z0-9._:-]{1,120}$/;

export interface RegisteredFn extends DagFunction {
  readonly impl: DagFnImpl;
  readonly locality: DagFnOptions['locality'];
}

export class FnRegistry {
  private readonly fns = new Map<string, RegisteredFn>();

  add(name: string, impl: DagFnImpl, opts: DagFnOptions): RegisteredFn {
    if (typeof name !== 'string' || !FN_NAME.test(name))
      throw new DagInvalidError(
        `invalid function name ${JSON.stringify(name)}: use 1-120 letters, digits, . _ : -`,
      );
    if (typeof impl !== 'function')
      throw new DagInvalidError(`function ${name}: the implementation must be a function`);
    const kind: unknown = opts?.kind;
    if (kind !== 'procedure' && kind !== 'step')
      throw new DagInvalidError(`function ${name}: kind must be 'procedure' or 'step'`);
    const memoryMb = opts.memoryMb ?? 0;
    if (!Number.isInteger(memoryMb) || memoryMb < 0)
      throw new DagInvalidError(`function ${name}: memoryMb must be an integer >= 0`);
    const loc = opts.locality;
    if (loc !== undefined && typeof loc !== 'string' && typeof loc !== 'function')
      throw new DagInvalidError(
        `function ${name}: locality must be a string or a function of args`,
      );
    const fn: RegisteredFn = { name, kind: kind, memoryMb, impl, locality: loc };
    this.fns.set(name, fn);
    return fn;
  }

  get(name: string): RegisteredFn | undefined {
    return this.fns.get(name);
  }

  /** The function a node names; `where` says which node, for the error. */
  resolve(fn: unknown, where: string): RegisteredFn {
    const name = typeof fn === 'string' ? fn : (fn as { name?: unknown } | null)?.name;
    const found = typeof name === 'string' ? this.fns.get(name) : undefined;
    if (found === undefined)
      throw new DagUnknownFunctionError(
        `${where} names unknown function ${JSON.stringify(name ?? fn)}; register it with os.serverless.fn first` +
          (this.fns.size > 0 ? ` (known: ${[...this.fns.keys()].sort().join(', ')})` : ''),
      );
    return found;
  }
}
