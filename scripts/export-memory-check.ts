/**
 * Memory check for `slack-audit export`: index N synthetic events (default 200000) into a throwaway
 * namespace, export them, sample process.memoryUsage().rss during the export, print
 * `export_records=N peak_rss_mb=X`, then delete the indices and the files.
 *
 *   npx tsc -p tsconfig.build.json && node dist/scripts/export-memory-check.js [--count N] [--format ndjson|csv] [--gzip]
 *
 * A flat peak (independent of N) is the point: pages are streamed to disk with backpressure, nothing accumulates.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/load.js';
import { runExport } from '../src/export/run-export.js';
import { deleteSyntheticIndices, indexSynthetic } from '../src/export/synthetic-events.js';
import { createLogger } from '../src/observe/logger.js';
import { createEsClient } from '../src/sink/es-client.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '200000' },
    format: { type: 'string', default: 'ndjson' },
    gzip: { type: 'boolean', default: false },
    /** Reuse the indices of a namespace from an earlier --keep run instead of indexing again. */
    namespace: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const count = Number(values.count);
const format = values.format === 'csv' ? 'csv' : 'ndjson';
const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;

const reuse = values.namespace !== undefined;
const config = loadConfig({ overrides: { namespace: values.namespace ?? `memcheck_${randomBytes(4).toString('hex')}`, logLevel: 'silent', sources: [] } });
const es = createEsClient(config);
const out = mkdtempSync(join(tmpdir(), 'sa-export-mem-'));
const start = Date.UTC(2024, 0, 1) / 1000;
try {
  if (!reuse) {
    const t0 = Date.now();
    // 200k events ~ 7 s apart: about 16 days, one monthly index.
    await indexSynthetic(es, config, count, { seed: 42, startSec: start, spacingSec: 7, sourceIds: ['default'], dropOriginalEvery: 0 }, 5000);
    process.stderr.write(`indexed ${count} events into namespace ${config.namespace} in ${Math.round((Date.now() - t0) / 1000)} s\n`);
  }
  // Start the measurement from a collected heap when node runs with --expose-gc.
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const quarters: number[] = [];
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 25);
  const t1 = Date.now();
  const result = await runExport(
    config,
    { from: new Date(start * 1000), to: new Date((start + count * 7 + 1) * 1000), format, gzip: values.gzip, outDir: join(out, 'export'), resume: false, maxFileBytes: 64 * 1024 * 1024, pageSize: 1000 },
    {
      es,
      log: createLogger({ level: 'silent' }),
      coverage: null,
      // RSS at each quarter of the export: a leak shows up as a rise from q1 to q4, a flat export does not.
      progress: {
        start: () => undefined,
        update: (done) => {
          const q = Math.min(4, Math.floor((done / count) * 4));
          quarters[q] = Math.max(quarters[q] ?? 0, process.memoryUsage().rss);
        },
        stop: () => undefined,
      },
    },
  );
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  const seconds = (Date.now() - t1) / 1000;
  const bytes = result.manifest.files.reduce((s, f) => s + f.bytes, 0);
  process.stdout.write(
    `export_records=${result.manifest.total_records} peak_rss_mb=${mb(peak)} baseline_rss_mb=${mb(baseline)} files=${result.manifest.files.length} bytes_mb=${mb(bytes)} seconds=${seconds.toFixed(1)} records_per_s=${Math.round(result.manifest.total_records / seconds)} rss_mb_by_quarter=${[0, 1, 2, 3].map((q) => mb(quarters[q] ?? 0)).join(',')}\n`,
  );
} finally {
  if (!values.keep) await deleteSyntheticIndices(es, config).catch(() => undefined);
  else process.stderr.write(`kept namespace ${config.namespace}: rerun with --namespace ${config.namespace} (without --keep to delete it afterwards)\n`);
  await es.close();
  rmSync(out, { recursive: true, force: true });
}
