/**
 * Stage 3: the ceiling. The documents stage 1 produced go straight into Elasticsearch with the client's own
 * bulk helper, tuned (~5 MB requests, a few in flight, no refresh per request), into the same layout the
 * pipeline writes: the namespace's templates, monthly indices by the event's own date, `create` with
 * `_id` = Slack id. Same end criterion as the pipeline: the clock stops when `_count` on the alias reaches N
 * (ES refreshes on its own schedule in both cases).
 */
import type { Client } from '@elastic/elasticsearch';
import type { Redis } from 'ioredis';
import { names } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { eventsIndexFor, installTemplates } from '../../src/sink/templates.js';
import { procCpuSeconds, RssSampler, sleep } from './measure.js';
import { serverPids } from './stage-pipeline.js';
import type { NormalizedEvent } from './stage-normalize.js';

export interface RawBulkFigures {
  events: number;
  seconds: number;
  /** Seconds until the helper had every bulk response (before the last refresh made them searchable). */
  bulkSeconds: number;
  eps: number;
  flushBytes: number;
  concurrency: number;
  failed: number;
  esCpuSeconds: number | undefined;
  benchCpuSeconds: number;
  peakRss: number;
}

export async function runRawBulk(config: Config, es: Client, redis: Redis, docs: readonly NormalizedEvent[], opts: { flushBytes?: number; concurrency?: number; timeoutMs?: number } = {}): Promise<RawBulkFigures> {
  const flushBytes = opts.flushBytes ?? 5_000_000;
  const concurrency = opts.concurrency ?? 3;
  await installTemplates(es, config);
  const alias = names(config).eventsAlias;
  const pids = await serverPids(es, redis);
  const esCpu0 = pids.es !== undefined ? procCpuSeconds(pids.es) : undefined;
  const rss = new RssSampler();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let failed = 0;
  const stats = await es.helpers.bulk<NormalizedEvent>({
    datasource: docs as NormalizedEvent[],
    onDocument: (d) => [{ create: { _index: eventsIndexFor(config, d.dateCreate), _id: d.id } }, d.doc],
    onDrop: () => {
      failed++;
    },
    flushBytes,
    concurrency,
    refreshOnCompletion: false,
    retries: 3,
  });
  const bulkSeconds = (performance.now() - t0) / 1000;
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  for (;;) {
    const count = (await es.count({ index: alias })).count;
    if (count >= docs.length - failed) break;
    if (Date.now() > deadline) throw new Error(`raw bulk: only ${String(count)}/${String(docs.length)} searchable`);
    await sleep(200);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const esCpu1 = pids.es !== undefined ? procCpuSeconds(pids.es) : undefined;
  return {
    events: docs.length,
    seconds,
    bulkSeconds,
    eps: docs.length / seconds,
    flushBytes,
    concurrency,
    failed: Math.max(failed, stats.failed),
    esCpuSeconds: esCpu0 !== undefined && esCpu1 !== undefined ? esCpu1 - esCpu0 : undefined,
    benchCpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRss: rss.stop(),
  };
}
