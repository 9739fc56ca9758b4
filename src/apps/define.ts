// An app is a module whose export is defineApp({ name, version?, setup }): setup registers the
// app's procedures, steps, workflows, cron schedules and HTTP routes on the node it runs on.
import type { TableOS } from '../tableos.js';
import { AppInvalidError } from './errors.js';

/** Marks an app object, across copies of the package (the app's and the CLI's). */
const APP = Symbol.for('tableos.app');

export interface AppSpec {
  /** The app's name: 1-100 letters, digits, . _ - */
  name: string;
  /** A declared version; without one the version is a hash of the app's code. */
  version?: string;
  /** Registers the app's functions with the node's services (os.workflows, os.http, ...). */
  setup(os: TableOS): void | Promise<void>;
}

export interface AppDefinition extends AppSpec {
  readonly [APP]: true;
}

const NAME = /^[A-Za-z0-9._-]{1,100}$/;
const VERSION = /^[A-Za-z0-9._+-]{1,100}$/;

/** Declares an app; checked here, so a bad name or version fails when the module loads. */
export function defineApp(spec: AppSpec): AppDefinition {
  const s = spec as Partial<AppSpec> | undefined;
  if (typeof s !== 'object' || s === null)
    throw new AppInvalidError('defineApp needs { name, setup(os) { ... } }');
  if (typeof s.name !== 'string' || !NAME.test(s.name))
    throw new AppInvalidError(
      `invalid app name ${JSON.stringify(s.name)}: use 1-100 letters, digits, . _ -`,
    );
  if (s.version !== undefined && (typeof s.version !== 'string' || !VERSION.test(s.version)))
    throw new AppInvalidError(
      `app ${s.name}: invalid version ${JSON.stringify(s.version)}: use 1-100 letters, digits, . _ + - (or leave it out to version by code hash)`,
    );
  if (typeof s.setup !== 'function')
    throw new AppInvalidError(`app ${s.name}: setup must be a function (os) => { ... }`);
  return Object.freeze({ ...spec, [APP]: true as const });
}

/** The app a module exports (default, or a named `app`), or undefined. */
export function appOf(mod: Record<string, unknown>): AppDefinition | undefined {
  // A module tsx ran as CommonJS (no "type": "module") arrives wrapped in one more default.
  const inner = mod.default as Record<string, unknown> | undefined;
  for (const v of [mod.default, mod.app, inner?.default, inner?.app]) {
    if (typeof v === 'object' && v !== null && (v as { [APP]?: unknown })[APP] === true)
      return v as AppDefinition;
  }
  return undefined;
}
