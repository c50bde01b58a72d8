import type { Command } from 'commander';
import { notYet } from './common.js';

export function registerRules(program: Command): void {
  const rules = program.command('rules').description('alert rules: validate and test');
  rules.command('validate [paths...]').description('check rule files').action(() => notYet('rules validate'));
  rules.command('test [paths...]').description('run the test cases in rule files').action(() => notYet('rules test'));
}
