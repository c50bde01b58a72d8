import type { Command } from 'commander';
import { loadFromCommand } from './common.js';

export function registerConfig(program: Command): void {
  const cfg = program.command('config').description('configuration tools');
  cfg
    .command('validate')
    .description('load and validate the configuration; print the effective config with secrets redacted')
    .option('--print', 'print the effective configuration as JSON')
    .action(function (this: Command, opts: { print?: boolean }) {
      const { config } = loadFromCommand(this);
      if (opts.print) {
        const safe = JSON.parse(JSON.stringify(config, (k, v: unknown) => (['token', 'apiKey', 'password'].includes(k) && v ? '[REDACTED]' : v))) as unknown;
        process.stdout.write(`${JSON.stringify(safe, null, 2)}\n`);
      }
      process.stdout.write(`config ok: ${config.sources.length} source(s), namespace ${config.namespace}\n`);
    });
}
