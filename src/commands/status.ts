import type { Command } from 'commander';
import { notYet } from './common.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('per-source watermark, lag, errors, rate budget; queue depths; DLQ; ES and Redis health')
    .option('--json', 'machine-readable output')
    .action(() => notYet('status'));
}
