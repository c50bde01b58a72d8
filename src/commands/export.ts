import { InvalidArgumentError, Option, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { parseQueryFile, parseTimeRange, invalid } from '../export/build-query.js';
import { collectorCoverageReader } from '../export/collector-coverage.js';
import { signingKeysFromConfig } from '../export/daily.js';
import { loadEd25519PrivateKey, loadEd25519PublicKey, loadHmacKey } from '../export/manifest-crypto.js';
import { defaultProgress } from '../export/progress.js';
import { runExport } from '../export/run-export.js';
import { EXPORT_FORMATS, type ExportFormat } from '../export/types.js';
import { verifyExport, verifyFailure } from '../export/verify-export.js';
import { createRedis } from '../queue/connection.js';
import { createEsClient } from '../sink/es-client.js';
import { loadFromCommand } from './common.js';

interface RunOptions {
  from: string;
  to: string;
  source?: string;
  action?: string;
  actor?: string;
  query?: string;
  format: ExportFormat;
  gzip?: boolean;
  out: string;
  resume?: boolean;
  maxFileBytes?: number;
  pageSize?: number;
  allowEmpty?: boolean;
  hmacKeyFile?: string;
  ed25519PrivateKeyFile?: string;
}

interface VerifyOptions {
  hmacKeyFile?: string;
  ed25519PublicKeyFile?: string;
}

function positiveInt(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

async function runAction(opts: RunOptions, cmd: Command): Promise<void> {
  const { config, log } = loadFromCommand(cmd);
  const range = parseTimeRange(opts.from, opts.to);
  const actions = opts.action?.split(',').map((a) => a.trim()).filter(Boolean);
  const query = opts.query === undefined ? null : parseQueryFile(readQueryFile(opts.query), opts.query);
  // Flags override the config's key files (a flag given means the config's file is not even read).
  const fromConfig = signingKeysFromConfig({
    ...config,
    export: { ...config.export, ...(opts.hmacKeyFile ? { hmacKeyFile: undefined } : {}), ...(opts.ed25519PrivateKeyFile ? { ed25519PrivateKeyFile: undefined } : {}) },
  });
  const signing = {
    hmacKey: opts.hmacKeyFile ? loadHmacKey(opts.hmacKeyFile) : fromConfig.hmacKey,
    ed25519PrivateKey: opts.ed25519PrivateKeyFile ? loadEd25519PrivateKey(opts.ed25519PrivateKeyFile) : fromConfig.ed25519PrivateKey,
  };
  const es = createEsClient(config);
  const redis = config.sources.length > 0 || opts.source ? createRedis(config, 'command') : null;
  try {
    const result = await runExport(
      config,
      {
        from: range.from,
        to: range.to,
        source: opts.source ?? null,
        actions: actions && actions.length > 0 ? actions : null,
        actor: opts.actor ?? null,
        query,
        format: opts.format,
        gzip: opts.gzip ?? false,
        outDir: opts.out,
        resume: opts.resume ?? false,
        maxFileBytes: opts.maxFileBytes,
        pageSize: opts.pageSize,
        allowEmpty: opts.allowEmpty ?? false,
        signing,
      },
      { es, log, coverage: redis ? collectorCoverageReader(redis, config) : null, progress: defaultProgress(log) },
    );
    const m = result.manifest;
    if (result.alreadyComplete) {
      process.stdout.write(`export in ${result.outDir} is already complete (${m.total_records} records in ${m.files.length} files); nothing to resume\n`);
      return;
    }
    process.stdout.write(
      `exported ${m.total_records} records (Elasticsearch count ${m.es_count}) into ${m.files.length} file(s) in ${result.outDir}` +
        `${result.signed ? ', manifest signed' : ''}${result.resumed ? ', resumed' : ''}; completeness: ${m.completeness.status}\n`,
    );
    if (m.completeness.status !== 'complete') process.stderr.write(`warning: ${m.completeness.statement}\n`);
  } finally {
    redis?.disconnect();
    await es.close();
  }
}

function readQueryFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw invalid(`cannot read --query file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function verifyAction(dir: string, opts: VerifyOptions): Promise<void> {
  const report = await verifyExport(dir, {
    hmacKey: opts.hmacKeyFile ? loadHmacKey(opts.hmacKeyFile) : undefined,
    ed25519PublicKey: opts.ed25519PublicKeyFile ? loadEd25519PublicKey(opts.ed25519PublicKeyFile) : undefined,
  });
  if (report.ok) {
    process.stdout.write(`${report.summary}\n`);
    return;
  }
  for (const p of report.problems) process.stderr.write(`  ${p.file}: ${p.reason}\n`);
  throw verifyFailure(report);
}

export function registerExport(program: Command): void {
  const exp = program.command('export').description('compliance export with a signed, hash-chained manifest');
  exp
    .command('run', { isDefault: true })
    .description('export events to files (from inclusive, to exclusive), then write manifest.json')
    .requiredOption('--from <iso>', 'start of the range, inclusive (ISO-8601 with zone, or YYYY-MM-DD = 00:00Z)')
    .requiredOption('--to <iso>', 'end of the range, exclusive')
    .option('--source <id>', 'only events of this configured source')
    .option('--action <a,b>', 'only these actions (comma-separated)')
    .option('--actor <user id>', 'only events by this actor (user.id)')
    .option('--query <file>', 'extra Elasticsearch query (JSON file), ANDed with the filters')
    .addOption(new Option('--format <format>', 'file format').choices(EXPORT_FORMATS).default('ndjson'))
    .option('--gzip', 'gzip the data files')
    .requiredOption('--out <dir>', 'output directory (empty, or an interrupted export with --resume)')
    .option('--resume', 'continue an interrupted export in --out')
    .option('--max-file-bytes <n>', 'split data files at this many uncompressed bytes (default: config export.maxFileBytes)', positiveInt('--max-file-bytes', 1024))
    .option('--page-size <n>', 'documents per Elasticsearch page and checkpoint', positiveInt('--page-size', 1))
    .option('--allow-empty', 'write a manifest with no files instead of failing when nothing matches')
    .option('--hmac-key-file <file>', 'sign the manifest with HMAC-SHA256 (default: config export.hmacKeyFile)')
    .option('--ed25519-private-key-file <file>', 'sign the manifest with Ed25519, PEM (default: config export.ed25519PrivateKeyFile)')
    .action(async (opts: RunOptions, cmd: Command) => {
      await runAction(opts, cmd);
    });
  exp
    .command('verify <dir>')
    .description('re-hash an export, re-count its records, check the hash chain and (given a key) the signature')
    .option('--hmac-key-file <file>', 'check the HMAC-SHA256 signature with this key')
    .option('--ed25519-public-key-file <file>', 'check the Ed25519 signature with this PEM public key')
    .action(async (dir: string, opts: VerifyOptions) => {
      await verifyAction(dir, opts);
    });
}
