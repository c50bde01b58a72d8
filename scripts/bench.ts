/**
 * `npm run bench`: one command, one run, on the local Redis and Elasticsearch.
 *
 *   1. normalize  raw entries -> ECS documents on one core (GeoIP + UA parsing included)
 *   2. rules      the same documents through the default rule pack, state in Redis
 *   3. raw_bulk   the same documents straight into ES with the client's bulk helper (the ceiling)
 *   4. pipeline   simulator -> scheduler -> BullMQ -> indexer process(es) -> ES, until all are searchable
 *   5. ratio      pipeline / raw_bulk (goal >= 0.8)
 *
 * Everything lives in a throwaway namespace `bench_<seed>...` (indices and Redis keys), removed at the end.
 * Flags: --events N (default 200000), --quick (20000), --seed S, --indexers 1,2, --stages a,b,c, --keep,
 * --profile (V8 CPU profiles of the pipeline processes into .services/bench-logs/<namespace>/),
 * --pipeline-config '{"collector":{"jobMaxEntries":2000}}' (merged over the pipeline processes' config).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { createLogger, setRootLogger } from '../src/observe/logger.js';
import { createEsClient } from '../src/sink/es-client.js';
import { generateEntries } from './bench/generate.js';
import { cpus } from 'node:os';
import { fmtInt, MachineWatch, machineInfo, mib, procCpuSeconds, table, timed } from './bench/measure.js';
import { runNormalize, type NormalizeFigures } from './bench/stage-normalize.js';
import { runRules } from './bench/stage-rules.js';
import { cleanupEs, cleanupRedis } from './bench/cleanup.js';
import { runPipeline, ROOT, serverPids, type PipelineFigures } from './bench/stage-pipeline.js';
import { runRawBulk, type RawBulkFigures } from './bench/stage-raw.js';

const STAGES = ['normalize', 'rules', 'raw', 'pipeline'] as const;
type Stage = (typeof STAGES)[number];

export interface BenchOptions {
  events: number;
  seed: string;
  indexers: number[];
  stages: Stage[];
  keep: boolean;
  profile: boolean;
  spanHours: number;
  /** Config keys merged over the pipeline processes' generated config (tuning experiments). */
  pipelineConfig: Record<string, unknown>;
}

function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      events: { type: 'string' },
      quick: { type: 'boolean', default: false },
      seed: { type: 'string', default: '42' },
      indexers: { type: 'string', default: '1,2' },
      stages: { type: 'string', default: STAGES.join(',') },
      keep: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'span-hours': { type: 'string' },
      'pipeline-config': { type: 'string' },
    },
    strict: true,
  });
  const events = values.events !== undefined ? Number(values.events) : values.quick ? 20_000 : 200_000;
  if (!Number.isInteger(events) || events < 100) throw new Error(`--events must be an integer >= 100, got ${String(values.events)}`);
  const indexers = values.indexers.split(',').map((s) => Number(s.trim()));
  if (indexers.some((n) => !Number.isInteger(n) || n < 1 || n > 16)) throw new Error(`--indexers must list integers 1..16, got ${values.indexers}`);
  const stages = values.stages.split(',').map((s) => s.trim());
  for (const s of stages) if (!(STAGES as readonly string[]).includes(s)) throw new Error(`unknown stage "${s}" (expected ${STAGES.join(', ')})`);
  if (!/^[a-z0-9_]{1,20}$/i.test(values.seed)) throw new Error('--seed: letters, digits and _ only (it names indices), at most 20');
  // ~20k events per hour of history: a busy org's rate, and one Slack window covers it all.
  const spanHours = values['span-hours'] !== undefined ? Number(values['span-hours']) : Math.max(1, Math.min(20, Math.ceil(events / 20_000)));
  let pipelineConfig: Record<string, unknown> = {};
  if (values['pipeline-config'] !== undefined) {
    const parsed: unknown = JSON.parse(values['pipeline-config']);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('--pipeline-config must be a JSON object (merged over the generated config)');
    pipelineConfig = parsed as Record<string, unknown>;
  }
  return { events, seed: values.seed.toLowerCase(), indexers, stages: stages as Stage[], keep: values.keep, profile: values.profile, spanHours, pipelineConfig };
}

export function benchConfig(namespace: string, prefix: string): Config {
  return loadConfig({
    file: '/dev/null',
    env: { REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', ELASTICSEARCH_URL: process.env.ELASTICSEARCH_URL ?? 'http://127.0.0.1:9200' },
    overrides: { namespace, redis: { prefix }, logLevel: 'warn' },
  });
}

/** CPU microseconds per event. */
function cpuPerK(cpuSeconds: number | undefined, events: number): string {
  return cpuSeconds === undefined ? 'n/a' : `${((cpuSeconds * 1e6) / events).toFixed(0)} µs/event`;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  setRootLogger(createLogger({ level: process.env.LOG_LEVEL ?? 'warn', pretty: false }));
  const ns = `bench_${opts.seed}`;
  const base = benchConfig(ns, `sa-bench-${opts.seed}`);
  const es = createEsClient(base);
  const redis = new Redis(base.redis.url, { maxRetriesPerRequest: 3 });
  const rows: string[][] = [];
  const details: string[] = [];
  const namespaces: string[] = [];
  const pipelines: PipelineFigures[] = [];
  let rawFigures: RawBulkFigures | undefined;
  let bestIndexers = 0;
  let failure: unknown;
  const rawRuns: RawBulkFigures[] = [];
  const final: Partial<Record<'normalize' | 'rules' | 'pipeline' | 'raw', number>> = {};
  try {
    const m = await machineInfo(es, redis);
    console.log(`machine: ${String(m.cores)} cores (${m.cpuModel}), ${String(m.memGiB)} GiB RAM, load avg ${String(m.loadAvg1)} at start`);
    console.log(`runtime: Node ${m.node}; Elasticsearch ${m.esVersion} (${String(m.esNodes)} node, heap ${String(m.esHeapMiB)} MiB); Redis ${m.redisVersion}`);
    if (Object.keys(opts.pipelineConfig).length > 0) console.log(`pipeline config override: ${JSON.stringify(opts.pipelineConfig)}`);
    console.log(`run:     ${fmtInt(opts.events)} events, seed ${opts.seed}, span ${String(opts.spanHours)} h, stages ${opts.stages.join(',')}, indexers ${opts.indexers.join(',')}`);
    const pids = await serverPids(es, redis);
    const serverCpu = () => {
      const a = pids.es !== undefined ? procCpuSeconds(pids.es) : undefined;
      const b = pids.redis !== undefined ? procCpuSeconds(pids.redis) : undefined;
      return a === undefined || b === undefined ? undefined : a + b;
    };
    /** Start watching the machine for a stage; `done(extra)` adds child-process CPU to ours. */
    const watch = () => {
      const w = new MachineWatch(serverCpu);
      const c0 = process.cpuUsage();
      return (childCpu = 0) => {
        const c = process.cpuUsage(c0);
        return w.summary((c.user + c.system) / 1e6 + (w.serversSince() ?? 0) + childCpu);
      };
    };

    // History ends at the last full hour: rule windows and suppression buckets (<= 1 h) then fall on the same
    // boundaries in every run, so the alert counts are reproducible from the seed as well.
    const endSeconds = Math.floor((Date.now() / 1000 - 10) / 3600) * 3600;
    const gen = timed(() => generateEntries({ seed: opts.seed, count: opts.events, endSeconds, spanHours: opts.spanHours }));
    const entries = gen.value;
    console.log(`generated ${fmtInt(entries.length)} entries in ${gen.seconds.toFixed(1)} s (cpu ${gen.cpuSeconds.toFixed(1)} s)`);

    let norm: NormalizeFigures | undefined;
    if (opts.stages.some((s) => s !== 'pipeline')) {
      const done = watch();
      norm = runNormalize(base, entries);
      final.normalize = norm.eps;
      rows.push(['1 normalize (1 core, CPU time)', fmtInt(norm.events), norm.cpuSeconds.toFixed(2), fmtInt(norm.eps), norm.usPerEvent.toFixed(1), mib(norm.peakRss), done()]);
      details.push(
        `normalize: wall ${norm.seconds.toFixed(2)} s (${fmtInt(norm.wallEps)}/s); per event (CPU): without GeoIP/UA ${norm.plainUsPerEvent.toFixed(1)} µs, with a per-IP GeoIP memo ${norm.geoMemoUsPerEvent.toFixed(1)} µs; ` +
          `indexer extras: secret scan ${norm.scrubUsPerEvent.toFixed(1)} µs, JSON.stringify ${norm.stringifyUsPerEvent.toFixed(1)} µs; ${fmtInt(norm.avgDocBytes)} B/doc; ${String(norm.failed)} invalid`,
      );
      console.log(`normalize: ${fmtInt(norm.eps)} events/s per core`);
    }

    if (norm && opts.stages.includes('rules')) {
      const rc = benchConfig(`${ns}_rules`, base.redis.prefix);
      namespaces.push(rc.namespace);
      await cleanupEs(es, rc.namespace);
      const done = watch();
      const r = await runRules(rc, es, redis, norm.docs);
      final.rules = r.eps;
      const byType = Object.entries(r.hitsByType).map(([t, n]) => `${t} ${String(n)}`).join(', ');
      rows.push(['2 rules (Redis state, alerts to ES)', fmtInt(r.events), r.seconds.toFixed(2), fmtInt(r.eps), ((r.seconds * 1e6) / r.events).toFixed(1), mib(r.peakRss), done()]);
      details.push(
        `rules: ${String(r.rules)} rules (${r.ruleTypes.join('/')}), batches of ${String(r.batchSize)}; own CPU ${r.cpuUsPerEvent.toFixed(1)} µs/event; ${String(r.hits)} alert hits (${byType || 'none'}), ` +
          `${String(r.alertsWritten)} alert docs written (${r.alertSeconds.toFixed(2)} s of the wall time), ${String(r.actions)} actions (counted, not run); ${fmtInt(r.redisKeys)} state keys`,
      );
      console.log(`rules: ${fmtInt(r.eps)} events/s`);
    }

    // A freshly started Elasticsearch spends its first minute compiling (JIT): warm it up with a discarded bulk
    // so that the raw and pipeline stages meet the same, steady server whichever runs first.
    if (norm && (opts.stages.includes('raw') || opts.stages.includes('pipeline'))) {
      const wc = benchConfig(`${ns}_warm`, base.redis.prefix);
      await cleanupEs(es, wc.namespace);
      const warm = await runRawBulk(wc, es, redis, norm.docs.slice(0, Math.min(norm.docs.length, 100_000)));
      await cleanupEs(es, wc.namespace);
      console.log(`elasticsearch warm-up: ${fmtInt(warm.events)} documents in ${warm.seconds.toFixed(1)} s (${fmtInt(warm.eps)}/s, discarded)`);
    }

    // raw_bulk runs before and (when the pipeline runs too) after the pipeline stage: the baseline is their
    // mean, so a machine that slows down or speeds up during the run does not tilt the ratio either way.
    const runRaw = async (label: string) => {
      if (!norm) return;
      const rc = benchConfig(`${ns}_raw${String(rawRuns.length + 1)}`, base.redis.prefix);
      namespaces.push(rc.namespace);
      await cleanupEs(es, rc.namespace);
      const done = watch();
      const r = await runRawBulk(rc, es, redis, norm.docs);
      rawRuns.push(r);
      if (!opts.keep) await cleanupEs(es, rc.namespace);
      rows.push([`3 raw_bulk (helpers.bulk)${label}`, fmtInt(r.events), r.seconds.toFixed(2), fmtInt(r.eps), ((r.seconds * 1e6) / r.events).toFixed(1), mib(r.peakRss), done()]);
      details.push(`raw_bulk${label}: flushBytes ${fmtInt(r.flushBytes)}, concurrency ${String(r.concurrency)}, no refresh; bulk done at ${r.bulkSeconds.toFixed(2)} s, searchable at ${r.seconds.toFixed(2)} s; CPU: ES ${cpuPerK(r.esCpuSeconds, r.events)}, client ${cpuPerK(r.benchCpuSeconds, r.events)}; ${String(r.failed)} dropped`);
      console.log(`raw_bulk${label}: ${fmtInt(r.eps)} events/s`);
    };
    const rawTwice = opts.stages.includes('raw') && opts.stages.includes('pipeline');
    if (opts.stages.includes('raw')) await runRaw(rawTwice ? ' before' : '');

    if (opts.stages.includes('pipeline')) {
      for (const count of opts.indexers) {
        const pc = benchConfig(`${ns}_p${String(count)}`, base.redis.prefix);
        namespaces.push(pc.namespace);
        await cleanupEs(es, pc.namespace);
        const label = `${String(count)} indexer${count > 1 ? 's' : ''}`;
        let done = watch();
        const p = await runPipeline({
          config: pc, es, redis, entries, indexers: count, spanHours: opts.spanHours, timeoutMs: 900_000, profile: opts.profile, extraConfig: opts.pipelineConfig,
          logDir: resolve(ROOT, '.services', 'bench-logs', pc.namespace),
          onClockStart: () => {
            done = watch();
          },
        });
        pipelines.push(p);
        const share = done(p.procs.reduce((a, x) => a + (x.cpuSeconds ?? 0), 0));
        // The next run starts from a clean Redis: this run's completed ingest jobs and unconsumed rules jobs go.
        if (!opts.keep) {
          await cleanupRedis(redis, base.redis.prefix);
          await cleanupEs(es, pc.namespace);
        }
        rows.push([`4 pipeline (${label})`, fmtInt(p.events), p.seconds.toFixed(2), fmtInt(p.eps), ((p.seconds * 1e6) / p.events).toFixed(1), mib(Math.max(...p.procs.map((x) => x.peakRss ?? 0))), share]);
        const procs = p.procs.map((x) => `${x.name} ${mib(x.peakRss)} RSS, ${cpuPerK(x.cpuSeconds, p.events)}`).join('; ');
        details.push(
          `pipeline (${label}): first doc searchable at ${p.firstDocSeconds.toFixed(2)} s, all fetched at ${p.allFetchedSeconds.toFixed(2)} s; ${procs}; ES ${cpuPerK(p.esCpuSeconds, p.events)}, Redis ${cpuPerK(p.redisCpuSeconds, p.events)}, simulator ${cpuPerK(p.benchCpuSeconds, p.events)}; ` +
            `max ingest queue ${String(p.maxQueueDepth)} jobs, Redis used_memory +${mib(p.redisUsedAtPeakDepth - p.redisUsedBefore)} at that depth (peak +${mib(p.redisUsedMax - p.redisUsedBefore)} over ${mib(p.redisUsedBefore)}; ${String(p.rulesQueueJobs)} rules jobs wait for a rules worker)`,
        );
        console.log(`pipeline (${label}): ${fmtInt(p.eps)} events/s`);
      }
      const best = pipelines.reduce<PipelineFigures | undefined>((a, b) => (a === undefined || b.eps > a.eps ? b : a), undefined);
      if (best) {
        final.pipeline = best.eps;
        bestIndexers = best.indexers;
      }
    }
    if (rawTwice) await runRaw(' after');
  } catch (err) {
    // Print what was measured before the failure; the exit code still says the run is incomplete.
    failure = err;
  } finally {
    if (!opts.keep) {
      for (const namespace of namespaces) {
        await cleanupEs(es, namespace).catch((err: unknown) => {
          console.error(`cleanup of ${namespace} failed:`, err);
        });
      }
      await cleanupRedis(redis, base.redis.prefix);
    }
    redis.disconnect();
    await es.close();
  }

  if (rawRuns.length > 0) {
    // The baseline is the mean of the raw runs; the cost model takes ES's and the client's CPU over all of them.
    final.raw = rawRuns.reduce((a, r) => a + r.eps, 0) / rawRuns.length;
    const sum = (f: (r: RawBulkFigures) => number | undefined) => (rawRuns.every((r) => f(r) !== undefined) ? rawRuns.reduce((a, r) => a + (f(r) ?? 0), 0) : undefined);
    rawFigures = { ...(rawRuns[0] as RawBulkFigures), events: sum((r) => r.events) ?? 0, esCpuSeconds: sum((r) => r.esCpuSeconds), benchCpuSeconds: sum((r) => r.benchCpuSeconds) ?? 0 };
    if (rawRuns.length > 1) details.push(`raw_bulk baseline: the mean of the runs before and after the pipeline, ${rawRuns.map((r) => fmtInt(r.eps)).join(' and ')} -> ${fmtInt(final.raw)} events/s`);
  }
  console.log('');
  console.log(table(['stage', 'events', 'seconds', 'events/s', 'µs/event', 'peak RSS', 'CPU share while it ran'], rows));
  console.log('');
  for (const d of details) console.log(`- ${d}`);
  const model = costModel(final.normalize, rawFigures, pipelines);
  if (model.length > 0) {
    console.log('');
    for (const line of model) console.log(line);
  }
  if (pipelines.length > 1) {
    const one = pipelines[0];
    console.log('');
    console.log(`scale-out: ${pipelines.map((p) => `${String(p.indexers)} indexer${p.indexers > 1 ? 's' : ''} ${fmtInt(p.eps)}/s`).join(', ')}${one ? ` (x${pipelines.map((p) => (p.eps / one.eps).toFixed(2)).join(', x')})` : ''}`);
  }
  if (bestIndexers > 0) console.log(`pipeline_eps is the best pipeline run (${String(bestIndexers)} indexer${bestIndexers > 1 ? 's' : ''})`);
  const f = (n: number | undefined) => (n === undefined ? 'n/a' : String(Math.round(n)));
  const ratio = final.pipeline !== undefined && final.raw !== undefined ? (final.pipeline / final.raw).toFixed(2) : 'n/a';
  if (failure !== undefined) {
    console.error('');
    console.error('bench FAILED before all stages ran:', failure);
    process.exitCode = 1;
  }
  console.log(`ratio pipeline/raw_bulk=${ratio} normalize_eps=${f(final.normalize)} rules_eps=${f(final.rules)} pipeline_eps=${f(final.pipeline)} raw_bulk_eps=${f(final.raw)}`);
}

/**
 * The CPU cost model: CPU µs per event of each component, measured above, and what they predict. On a box where
 * Elasticsearch and the pipeline share the cores, throughput is at most cores / (sum of costs); with ES on its
 * own nodes, the pipeline's ceiling is (indexer cores) / (indexer cost) and ES's is (ES cores) / (ES cost).
 */
function costModel(normalizeEps: number | undefined, raw: RawBulkFigures | undefined, pipelines: PipelineFigures[]): string[] {
  const p = pipelines[0];
  if (!raw || raw.esCpuSeconds === undefined || !p) return [];
  const us = (cpu: number | undefined, n: number) => ((cpu ?? 0) * 1e6) / n;
  const esUs = us(raw.esCpuSeconds, raw.events);
  const indexerUs = p.procs.filter((x) => x.name.startsWith('indexer')).reduce((a, x) => a + us(x.cpuSeconds, p.events), 0);
  const schedulerUs = p.procs.filter((x) => x.name === 'scheduler').reduce((a, x) => a + us(x.cpuSeconds, p.events), 0);
  const redisUs = us(p.redisCpuSeconds, p.events);
  const simUs = us(p.benchCpuSeconds, p.events);
  const clientUs = us(raw.benchCpuSeconds, raw.events);
  const pipelineUs = indexerUs + schedulerUs + redisUs;
  const cores = cpus().length;
  const rawCeiling = (cores * 1e6) / (esUs + clientUs);
  const pipelineCeiling = (cores * 1e6) / (esUs + pipelineUs + simUs);
  return [
    `cost model (CPU µs per event): ES indexing ${esUs.toFixed(0)}, bulk-helper client ${clientUs.toFixed(0)} (raw stage); indexer ${indexerUs.toFixed(0)}${normalizeEps ? ` (normalize alone ${(1e6 / normalizeEps).toFixed(0)})` : ''}, scheduler ${schedulerUs.toFixed(0)}, Redis ${redisUs.toFixed(0)}, simulator (stands in for Slack) ${simUs.toFixed(0)} (pipeline, ${String(p.indexers)} indexer${p.indexers > 1 ? 's' : ''})`,
    `  all on this ${String(cores)}-core box, CPU-bound: raw_bulk <= ${fmtInt(rawCeiling)}/s, pipeline <= ${fmtInt(pipelineCeiling)}/s, ratio ceiling ${(pipelineCeiling / rawCeiling).toFixed(2)}`,
    `  ES on its own cores: ${fmtInt(1e6 / esUs)}/s per ES core; one indexer process (one core) sustains ${fmtInt(1e6 / indexerUs)}/s, so ${(indexerUs / esUs).toFixed(2)} indexer cores keep one ES core busy`,
  ];
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
