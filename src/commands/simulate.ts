import type { Command } from 'commander';
import { notYet } from './common.js';

export function registerSimulate(program: Command): void {
  program.command('simulate').description('run the Slack simulator (Audit Logs + admin API)').action(() => notYet('simulate'));
}
