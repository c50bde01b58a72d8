import type { Command } from 'commander';
import { SlackAuditError } from '../errors.js';
import { createEnrichers } from '../normalize/enrich.js';
import { BulkWriter } from '../sink/bulk-writer.js';
import { listDeadLetters } from '../sink/dead-letter.js';
import { replayDeadLetters } from '../sink/dlq-replay.js';
import { createEsClient } from '../sink/es-client.js';
import { loadFromCommand } from './common.js';

interface ListOptions {
  json?: boolean;
  limit: string;
}
interface ReplayOptions {
  id?: string[];
  all?: boolean;
  json?: boolean;
}

const out = (line: string) => process.stdout.write(`${line}\n`);

export function registerDlq(program: Command): void {
  const dlq = program.command('dlq').description('dead-letter records: list and replay');
  dlq
    .command('list')
    .description('list dead-letter records, newest first')
    .option('--json', 'print JSON (one array, raw entries included)')
    .option('--limit <n>', 'at most this many records', '50')
    .action(async (opts: ListOptions, cmd: Command) => {
      const { config } = loadFromCommand(cmd);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new SlackAuditError('SLACK_AUDIT_CONFIG_INVALID', `--limit must be a positive integer, got "${opts.limit}"`);
      const es = createEsClient(config);
      try {
        const hits = await listDeadLetters(es, config, { limit });
        if (opts.json) {
          out(JSON.stringify(hits.map((h) => ({ id: h.id, ...h.record })), null, 2));
          return;
        }
        if (hits.length === 0) {
          out('no dead letters');
          return;
        }
        out(['id', 'last attempt', 'stage', 'reason', 'attempts', 'source', 'entry', 'error'].join('\t'));
        for (const { id, record: r } of hits) {
          out([id, r.dlq.last_attempt, r.dlq.stage, r.dlq.reason, r.dlq.attempts, r.dlq.source_id, r.dlq.entry_id ?? '-', r.error.message.slice(0, 160).replace(/\s+/g, ' ')].join('\t'));
        }
      } finally {
        await es.close();
      }
    });
  dlq
    .command('replay')
    .description('re-normalize and re-index dead-lettered entries; a record is removed only once its event is indexed')
    .option('--id <id...>', 'record ids (from `dlq list`)')
    .option('--all', 'every record')
    .option('--json', 'print the report as JSON')
    .action(async (opts: ReplayOptions, cmd: Command) => {
      if (!opts.all && (!opts.id || opts.id.length === 0)) throw new SlackAuditError('SLACK_AUDIT_CONFIG_INVALID', 'dlq replay needs --id <id...> or --all');
      const { config, log } = loadFromCommand(cmd);
      const es = createEsClient(config);
      try {
        const report = await replayDeadLetters(
          { es, config, log, enrichers: createEnrichers(config.geoip), writer: BulkWriter.fromConfig(es, config) },
          opts.all ? { all: true } : { ids: opts.id ?? [] },
        );
        if (opts.json) out(JSON.stringify(report, null, 2));
        else {
          for (const item of report.items) out(`${item.id}\t${item.outcome}${item.error ? `\t${item.error.slice(0, 200)}` : ''}`);
          out(`replayed: ${report.indexed} indexed, ${report.duplicates} already present, ${report.failed} still failing, ${report.skipped} skipped, ${report.missing} not found`);
        }
        if (report.failed > 0 || report.missing > 0) process.exitCode = 1;
      } finally {
        await es.close();
      }
    });
}
