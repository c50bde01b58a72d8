import type { Command } from 'commander';
import { notYet } from './common.js';

export function registerExport(program: Command): void {
  const exp = program.command('export').description('compliance export with a signed, hash-chained manifest');
  exp
    .command('run', { isDefault: true })
    .description('export events to files')
    .action(() => notYet('export'));
  exp
    .command('verify <dir>')
    .description('re-hash an export and check its manifest')
    .action(() => notYet('export verify'));
}
