// The fixture runner for tests: test/support/process.ts, plus a cleanup that kills the
// children a failed test left running.
import { afterAll } from 'vitest';
import { liveChildren } from './process.js';

export * from './process.js';

afterAll(() => {
  for (const child of liveChildren) child.kill('SIGKILL');
});
