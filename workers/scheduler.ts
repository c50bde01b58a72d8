import { Queue, Worker, type Job } from 'bullmq';
import type { Config, SourceConfig } from '../src/config/schema.js';
import { SlackAuditError, errorMessage } from '../src/errors.js';
import type { Logger } from '../src/observe/logger.js';
import { bullPrefix, createRedis } from '../src/queue/connection.js';
import { QUEUES } from '../src/queue/jobs.js';
import { AuditLogsClient } from '../src/slack/audit-client.js';
import { processBackfillJob } from '../src/collect/backfill.js';
import { createSourceRuntime, pollSource, sourceFingerprint, type SourceRuntime } from '../src/collect/poll-source.js';
import { SourceStore } from '../src/collect/source-store.js';
import type { LogsFetcher } from '../src/collect/types.js';
import { z } from 'zod';

/**
 * The scheduler role: one BullMQ Job Scheduler per source on QUEUES.poll (however many replicas run, BullMQ hands
 * each tick to ONE worker, and a per-source Redis lock guards the window run on top of that), plus the backfill
 * worker on QUEUES.backfill. All Slack requests of a source go through its shared Redis rate budget.
 */

export interface SchedulerOptions {
  /** Build the Slack client of a source (tests inject fakes); default: AuditLogsClient. */
  createFetcher?: (source: SourceConfig, config: Config) => LogsFetcher;
  now?: () => number;
}

const pollJobSchema = z.object({ sourceId: z.string() });

export function pollSchedulerId(sourceId: string): string {
  return `poll:${sourceId}`;
}

function defaultFetcher(source: SourceConfig, config: Config): LogsFetcher {
  if (source.token === undefined || source.token === '') {
    return {
      fetchPage: () => Promise.reject(new SlackAuditError('SLACK_AUDIT_SLACK_FATAL', `source ${source.id} has no token (set SLACK_AUDIT_TOKEN, tokenEnv or tokenFile)`)),
    };
  }
  return new AuditLogsClient({ baseUrl: source.apiUrl, token: source.token, sourceId: source.id, timeoutMs: config.collector.httpTimeoutMs });
}

export async function startScheduler(config: Config, log: Logger, opts: SchedulerOptions = {}): Promise<{ close(): Promise<void> }> {
  const prefix = bullPrefix(config);
  const redis = createRedis(config, 'worker');
  const connection = createRedis(config, 'worker');
  const pollQueue = new Queue(QUEUES.poll, { connection, prefix });
  const backfillQueue = new Queue(QUEUES.backfill, { connection, prefix });
  const ingest = new Queue(QUEUES.ingest, { connection, prefix });
  const controller = new AbortController();
  const sources = config.sources.filter((s) => s.enabled);
  const fatalLogged = new Set<string>();
  const runtimes = new Map<string, SourceRuntime>();
  for (const source of sources) {
    const fetcher = (opts.createFetcher ?? defaultFetcher)(source, config);
    runtimes.set(source.id, createSourceRuntime({ config, source, redis, fetcher, ingest, log: log.child({ role: 'scheduler' }), ...(opts.now ? { now: opts.now } : {}), fatalLogged }));
  }

  // One scheduler per enabled source; drop schedulers of sources removed from (or disabled in) the config.
  // Re-asserted periodically (upsert is idempotent): a Redis restored from an old AOF or snapshot, or one that
  // lost its data, would otherwise leave every replica running and none polling.
  const ensureSchedulers = async (): Promise<void> => {
    for (const source of sources) {
      await pollQueue.upsertJobScheduler(pollSchedulerId(source.id), { every: source.pollIntervalSeconds * 1000 }, {
        name: 'poll',
        data: { sourceId: source.id },
        opts: { removeOnComplete: { count: 50 }, removeOnFail: { count: 200 } },
      });
    }
    for (const s of await pollQueue.getJobSchedulers()) {
      const id = s.key;
      if (id.startsWith('poll:') && !sources.some((src) => pollSchedulerId(src.id) === id)) await pollQueue.removeJobScheduler(id);
    }
  };
  await ensureSchedulers();
  for (const source of sources) {
    const store = new SourceStore(redis, config, source.id);
    const fatal = await store.fatal();
    if (fatal !== null) log.error({ sourceId: source.id, code: fatal.code, error: fatal.message, sameCredentials: fatal.fingerprint === sourceFingerprint(source) }, 'source has a recorded fatal error');
  }
  const reassert = setInterval(() => {
    ensureSchedulers().catch((err: unknown) => {
      log.warn({ err: errorMessage(err) }, 'could not re-assert poll schedulers (Redis unavailable?)');
    });
  }, 30_000);
  reassert.unref();

  const pollWorker = new Worker(
    QUEUES.poll,
    async (job: Job) => {
      const data = pollJobSchema.safeParse(job.data);
      const rt = data.success ? runtimes.get(data.data.sourceId) : undefined;
      if (rt === undefined) return 'unknown-source';
      // A tick may run up to a few poll intervals (a catch-up, a Retry-After); longer work resumes next tick.
      const budgetMs = Math.max(30_000, 3 * rt.source.pollIntervalSeconds * 1000);
      return pollSource(rt, controller.signal, budgetMs);
    },
    { connection, prefix, concurrency: Math.max(2, sources.length + 1) },
  );
  const backfillWorker = new Worker(
    QUEUES.backfill,
    async (job: Job, token?: string) => {
      const data = pollJobSchema.safeParse(job.data);
      const rt = data.success ? runtimes.get(data.data.sourceId) : undefined;
      if (rt === undefined) throw new Error(`backfill job for unknown or disabled source ${data.success ? data.data.sourceId : '?'}`);
      return processBackfillJob(rt, job, token, controller.signal, 5 * 60_000);
    },
    { connection, prefix, concurrency: Math.max(1, sources.length) },
  );
  for (const [name, w] of [['poll', pollWorker], ['backfill', backfillWorker]] as const) {
    w.on('failed', (job, err) => {
      log.warn({ queue: name, jobId: job?.id, err: errorMessage(err) }, 'scheduler job failed');
    });
    w.on('error', (err) => {
      log.error({ queue: name, err: errorMessage(err) }, 'scheduler worker error');
    });
  }
  log.info({ sources: sources.map((s) => s.id) }, 'scheduler started');

  let closed = false;
  return {
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(reassert);
      // Abort running windows at their next step (their position is already saved), then let the workers finish.
      controller.abort();
      await Promise.all([pollWorker.close(), backfillWorker.close()]);
      await Promise.all([pollQueue.close(), backfillQueue.close(), ingest.close()]);
      for (const rt of runtimes.values()) await rt.fetcher.close?.();
      await Promise.all([redis.quit().catch(() => undefined), connection.quit().catch(() => undefined)]);
    },
  };
}
