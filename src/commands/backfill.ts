import type { Command } from 'commander';
import { notYet } from './common.js';

export function registerBackfill(program: Command): void {
  program
    .command('backfill')
    .description('queue historical windows for collection on the low-priority backfill queue (resumable)')
    .requiredOption('--since <iso>', 'oldest time to collect (ISO 8601)')
    .option('--until <iso>', 'newest time to collect (default: now)')
    .option('--source <id>', 'only this source')
    .action(() => notYet('backfill'));
}
