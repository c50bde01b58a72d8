import type { Command } from 'commander';
import { notYet } from './common.js';

export function registerDlq(program: Command): void {
  const dlq = program.command('dlq').description('dead-letter records: list and replay');
  dlq.command('list').description('list dead-letter records').action(() => notYet('dlq list'));
  dlq.command('replay').description('replay dead-letter records').option('--id <id...>').option('--all').action(() => notYet('dlq replay'));
}
