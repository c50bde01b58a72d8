import type { Command } from 'commander';
import { loadFromCommand } from './common.js';
import { startPipeline, ROLES, type Role } from '../pipeline.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run pipeline roles: scheduler (polls Slack), indexer (writes ES), rules (alerts + responses)')
    .option('--role <role...>', `${ROLES.join(' | ')} | all`, ['all'])
    .option('--metrics-port <port>', 'override SLACK_AUDIT_METRICS_PORT for this process (0 = any free port)')
    .action(async function (this: Command, opts: { role: string[]; metricsPort?: string }) {
      const overrides: Record<string, unknown> = {};
      if (opts.metricsPort !== undefined) overrides.metrics = { port: Number(opts.metricsPort) };
      const { config, log } = loadFromCommand(this, overrides);
      const roles = parseRoles(opts.role);
      const pipeline = await startPipeline(config, log, roles);
      await pipeline.runUntilSignal();
    });
}

export function parseRoles(values: string[]): Role[] {
  const flat = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  if (flat.length === 0 || flat.includes('all')) return [...ROLES];
  for (const r of flat) {
    if (!(ROLES as readonly string[]).includes(r)) throw new Error(`unknown role "${r}" (expected ${ROLES.join(', ')} or all)`);
  }
  return [...new Set(flat)] as Role[];
}
