import type { Command } from 'commander';
import { notYet } from './common.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run pipeline roles: scheduler (polls Slack), indexer (writes ES), rules (alerts + responses)')
    .option('--role <role...>', 'scheduler | indexer | rules | all', ['all'])
    .action(() => notYet('run'));
}
