import { Queue } from 'bullmq';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import { ConfigError } from '../errors.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observe/logger.js';
import { bullPrefix, createRedis } from '../queue/connection.js';
import { QUEUES } from '../queue/jobs.js';
import { backfillProgress, enqueueBackfill, type EnqueueResult } from '../collect/backfill.js';
import { planBackfillWindows, windowIdOf } from '../collect/plan-poll-window.js';
import { SourceStore } from '../collect/source-store.js';
import { sleep } from '../collect/sleep.js';
import { loadFromCommand } from './common.js';

export interface BackfillOptions {
  since: string;
  until?: string | undefined;
  source?: string | undefined;
  /** Only enqueue; do not wait for completion. */
  wait: boolean;
  windowSeconds?: number | undefined;
  /** Progress output: a bar (TTY), JSON lines, or nothing. */
  progress?: 'bar' | 'json' | 'none';
  pollMs?: number;
  signal?: AbortSignal;
}

export interface BackfillSourcePlan extends EnqueueResult {
  sourceId: string;
  since: number;
  until: number;
  windowIds: string[];
}

export interface BackfillSummary {
  sources: BackfillSourcePlan[];
  done: boolean;
  events: number;
}

function parseInstant(value: string, flag: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ConfigError(`${flag}: not an ISO 8601 time: "${value}"`, [flag]);
  return Math.floor(ms / 1000);
}

/**
 * Plan and queue a backfill, then (unless wait=false) follow it until every window is done. The scheduler role
 * (`run --role scheduler`) does the reading, at low priority on the shared rate budget. Running it again with the
 * same range is idempotent: completed windows are skipped and queued ones are not added twice.
 */
export async function runBackfill(config: Config, opts: BackfillOptions, log: Logger): Promise<BackfillSummary> {
  const since = parseInstant(opts.since, '--since');
  const sources = config.sources.filter((s) => s.enabled && (opts.source === undefined || s.id === opts.source));
  if (sources.length === 0) throw new ConfigError(opts.source === undefined ? 'no enabled source is configured' : `unknown or disabled source "${opts.source}"`, ['sources']);
  const windowSeconds = opts.windowSeconds ?? config.collector.backfillWindowSeconds;
  const redis = createRedis(config, 'command');
  const queue = new Queue(QUEUES.backfill, { connection: redis, prefix: bullPrefix(config) });
  try {
    const plans: BackfillSourcePlan[] = [];
    for (const source of sources) {
      const earliest = Math.floor(Date.parse(source.earliest) / 1000);
      const store = new SourceStore(redis, config, source.id);
      const collectedFrom = Number((await store.getFields('collectedFrom')).collectedFrom ?? NaN);
      // Default end: just before what live polling already covers (or now - settle when it has not run yet).
      const until = opts.until !== undefined ? parseInstant(opts.until, '--until') : Number.isFinite(collectedFrom) ? collectedFrom - 1 : Math.floor(Date.now() / 1000) - source.settleSeconds;
      const from = Math.max(since, earliest);
      const windows = planBackfillWindows(from, until, windowSeconds);
      const result = await enqueueBackfill(redis, queue, config, source.id, windows);
      const plan = { sourceId: source.id, since: from, until, windowIds: windows.map((w) => windowIdOf('backfill', w)), ...result };
      plans.push(plan);
      log.info({ sourceId: source.id, since: new Date(from * 1000).toISOString(), until: new Date(until * 1000).toISOString(), windows: result.windows, alreadyDone: result.alreadyDone, queued: result.queued }, 'backfill planned');
    }
    if (!opts.wait) return { sources: plans, done: plans.every((p) => p.alreadyDone === p.windows), events: 0 };
    return await follow(redis, config, plans, opts, log);
  } finally {
    await queue.close();
    await redis.quit().catch(() => undefined);
  }
}

async function follow(redis: Redis, config: Config, plans: BackfillSourcePlan[], opts: BackfillOptions, log: Logger): Promise<BackfillSummary> {
  const total = plans.reduce((n, p) => n + p.windows, 0);
  const mode = opts.progress ?? (process.stderr.isTTY ? 'bar' : 'json');
  const bar =
    mode === 'bar'
      ? new cliProgress.SingleBar(
          { format: 'backfill [{bar}] {value}/{total} windows | {events} events | ETA {eta_formatted}', stream: process.stderr, hideCursor: true, etaBuffer: 20 },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  bar?.start(total, 0, { events: 0 });
  const started = Date.now();
  let lastJson = 0;
  try {
    for (;;) {
      let done = 0;
      let events = 0;
      for (const p of plans) {
        const pr = await backfillProgress(redis, config, p.sourceId, p.windowIds);
        done += pr.done;
        events += pr.events;
      }
      bar?.update(done, { events });
      const now = Date.now();
      if (mode === 'json' && (now - lastJson >= 5000 || done === total)) {
        lastJson = now;
        const rate = done / Math.max(1, (now - started) / 1000);
        const eta = done > 0 && done < total ? Math.round((total - done) / rate) : null;
        log.info({ windowsDone: done, windows: total, events, etaSeconds: eta }, 'backfill progress');
      }
      if (done >= total || opts.signal?.aborted === true) return { sources: plans, done: done >= total, events };
      await sleep(opts.pollMs ?? 1000, opts.signal);
    }
  } finally {
    bar?.stop();
  }
}

export function registerBackfill(program: Command): void {
  program
    .command('backfill')
    .description('queue historical windows for collection on the low-priority backfill queue (resumable)')
    .requiredOption('--since <iso>', 'oldest time to collect (ISO 8601)')
    .option('--until <iso>', 'newest time to collect (default: just before what live polling covers, or now)')
    .option('--source <id>', 'only this source')
    .option('--window-hours <hours>', 'length of one backfill window (default: collector.backfillWindowSeconds)')
    .option('--no-wait', 'only queue the windows; the scheduler role reads them')
    .action(async function (this: Command, o: { since: string; until?: string; source?: string; windowHours?: string; wait: boolean }) {
      const { config, log } = loadFromCommand(this);
      const controller = new AbortController();
      const onSignal = () => {
        controller.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const windowSeconds = o.windowHours === undefined ? undefined : Math.max(60, Math.round(Number(o.windowHours) * 3600));
      if (windowSeconds !== undefined && !Number.isFinite(windowSeconds)) throw new ConfigError('--window-hours must be a number', ['--window-hours']);
      const summary = await runBackfill(config, { since: o.since, until: o.until, source: o.source, wait: o.wait, windowSeconds, signal: controller.signal }, log);
      process.stdout.write(
        `${JSON.stringify({ done: summary.done, events: summary.events, sources: summary.sources.map(({ windowIds: _ids, ...rest }) => ({ ...rest, since: new Date(rest.since * 1000).toISOString(), until: new Date(rest.until * 1000).toISOString() })) })}\n`,
      );
      if (!summary.done && o.wait) process.exitCode = 130;
    });
}
