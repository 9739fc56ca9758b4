// The scheduler's commands: tableos sched ..., tableos queue ..., tableos cron ...
import type { Command } from 'commander';
import * as cron from './cli-cron.js';
import * as queue from './cli-queue.js';
import * as sched from './cli-sched.js';

export function register(program: Command): void {
  sched.register(program);
  queue.register(program);
  cron.register(program);
}
