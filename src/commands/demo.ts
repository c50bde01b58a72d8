import type { Command } from 'commander';
import { notYet } from './common.js';

export function registerDemo(program: Command): void {
  program.command('demo').description('run the whole pipeline against the simulator with the attack story, then summarize').action(() => notYet('demo'));
}
