#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from './config/load.js';
import { SlackAuditError, ConfigError, errorMessage } from './errors.js';
import { scrubString } from './observe/secrets.js';
import { registerSetup } from './commands/setup.js';
import { registerRun } from './commands/run.js';
import { registerBackfill } from './commands/backfill.js';
import { registerStatus } from './commands/status.js';
import { registerExport } from './commands/export.js';
import { registerRules } from './commands/rules.js';
import { registerDlq } from './commands/dlq.js';
import { registerSimulate } from './commands/simulate.js';
import { registerDemo } from './commands/demo.js';
import { registerConfig } from './commands/config.js';

export function version(): string {
  try {
    return (JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export function buildProgram(): Command {
  const program = new Command('slack-audit')
    .description('Stream Slack Enterprise Grid audit logs into Elasticsearch, alert on them, respond safely, export for compliance.')
    .version(version())
    .option('-c, --config <file>', 'config file (YAML); default: $SLACK_AUDIT_CONFIG or config/default.yaml')
    .showHelpAfterError();
  registerSetup(program);
  registerRun(program);
  registerBackfill(program);
  registerStatus(program);
  registerExport(program);
  registerRules(program);
  registerDlq(program);
  registerSimulate(program);
  registerDemo(program);
  registerConfig(program);
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    if (err instanceof ConfigError) {
      process.stderr.write(`slack-audit: ${scrubString(err.message)}\n`);
      process.exit(78); // EX_CONFIG
    }
    const code = err instanceof SlackAuditError ? ` [${err.code}]` : '';
    process.stderr.write(`slack-audit: error${code}: ${scrubString(errorMessage(err))}\n`);
    process.exit(1);
  }
}

await main();
