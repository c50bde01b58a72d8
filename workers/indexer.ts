import { createHash } from 'node:crypto';
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../src/config/schema.js';
import { SlackAuditError, errorMessage, isSlackAuditError } from '../src/errors.js';
import { createEnrichers } from '../src/normalize/enrich.js';
import type { Logger } from '../src/observe/logger.js';
import { metrics } from '../src/observe/metrics.js';
import { bullPrefix, createRedis } from '../src/queue/connection.js';
import { QUEUES, type IngestJob, type RulesJobV1 } from '../src/queue/jobs.js';
import { BulkWriter } from '../src/sink/bulk-writer.js';
import { deadLetterUndecodableJob } from '../src/sink/dead-letter.js';
import { createEsClient } from '../src/sink/es-client.js';
import { processIngestJob } from '../src/sink/ingest-batch.js';
import { rulesJobBuilder } from '../src/rules/rules-job.js';
import { applyRetention, installTemplates, templatesInstalled } from '../src/sink/templates.js';

/**
 * The indexer role: ingest jobs -> ECS documents in Elasticsearch -> rules jobs.
 *
 * While Elasticsearch is down or pushing back, a job is moved back to `delayed` with a growing delay
 * (DelayedError: it does not consume the producer's `attempts`), so an outage of hours loses nothing and
 * does not spin. Other failures are thrown and retried by BullMQ per the producer's job options.
 */
export interface IndexerOptions {
  /** First delay after an ES outage; doubles per activation up to `maxRetryDelayMs` (default 5 s / 10 min). */
  retryBaseMs?: number;
  maxRetryDelayMs?: number;
}

const ingestHead = {
  sourceId: z.string().min(1),
  kind: z.enum(['live', 'rescan', 'backfill']),
  windowId: z.string(),
  page: z.number().int(),
  chunk: z.number().int(),
  fetchedAt: z.number(),
};
const ingestJobSchema = z.discriminatedUnion('v', [
  z.object({ v: z.literal(1), ...ingestHead, entries: z.array(z.unknown()) }).loose(),
  z.object({ v: z.literal(2), ...ingestHead, entries: z.array(z.string()) }).loose(),
]);

/** Deterministic rules job id: a retried or re-delivered ingest job cannot enqueue its events twice. */
export function rulesJobId(ingestJobId: string | undefined, job: Pick<IngestJob, 'sourceId' | 'windowId' | 'page' | 'chunk'>): string {
  if (ingestJobId !== undefined && ingestJobId !== '') return `rules.${ingestJobId.replace(/:/g, '_')}`;
  const h = createHash('sha256').update(`${job.sourceId}\n${job.windowId}\n${job.page}\n${job.chunk}`).digest('hex').slice(0, 32);
  return `rules.${h}`;
}

export async function startIndexer(config: Config, log: Logger, options: IndexerOptions = {}): Promise<{ close(): Promise<void> }> {
  const ilog = log.child({ role: 'indexer' });
  const es = createEsClient(config);
  const enrichers = createEnrichers(config.geoip);
  const writer = BulkWriter.fromConfig(es, config);
  // Rules jobs carry only the fields the rule pack reads: less JSON per event and less Redis while rules lag.
  const rulesJobs = rulesJobBuilder(config, ilog);
  const prefix = bullPrefix(config);
  const queueRedis = createRedis(config, 'worker');
  const workerRedis = createRedis(config, 'worker');
  const rulesQueue = new Queue<RulesJobV1>(QUEUES.rules, { connection: queueRedis, prefix });
  const retryBase = options.retryBaseMs ?? 5000;
  const retryMax = options.maxRetryDelayMs ?? 10 * 60_000;

  let layoutReady = false;
  const ensureLayout = async () => {
    if (layoutReady) return;
    try {
      if (!(await templatesInstalled(es, config))) {
        ilog.warn({ namespace: config.namespace }, 'Elasticsearch templates missing; installing them (run `slack-audit setup` to do this explicitly)');
        await installTemplates(es, config);
      }
      layoutReady = true;
    } catch (err) {
      throw new SlackAuditError('SLACK_AUDIT_ES_UNAVAILABLE', `cannot check Elasticsearch templates: ${errorMessage(err)}`, { retryable: true, cause: err });
    }
  };

  const processor = async (job: Job, token?: string): Promise<{ indexed: number; duplicates: number; deadLettered: number }> => {
    const started = Date.now();
    const parsed = ingestJobSchema.safeParse(job.data);
    try {
      await ensureLayout();
      if (!parsed.success) {
        // A payload version we do not understand (rolling upgrade) or a corrupt job: park it in the DLQ.
        await deadLetterUndecodableJob(es, config, job, `unsupported ingest job payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        ilog.error({ jobId: job.id }, 'ingest job payload not understood; dead-lettered');
        return { indexed: 0, duplicates: 0, deadLettered: 1 };
      }
      const ingest = parsed.data as IngestJob;
      const result = await processIngestJob(ingest, { es, config, log: ilog, enrichers, writer, jobId: job.id, attempt: job.attemptsMade + 1 });
      if (result.docs.length > 0) {
        await rulesQueue.add(
          'rules',
          rulesJobs.build(ingest.sourceId, result.docs),
          { jobId: rulesJobId(job.id, ingest), attempts: 10, backoff: { type: 'exponential', delay: 5000 }, removeOnComplete: { age: 3600, count: 100 }, removeOnFail: { age: 7 * 24 * 3600, count: 1000 } },
        );
      }
      metrics.jobDuration.observe({ queue: QUEUES.ingest, outcome: 'completed' }, (Date.now() - started) / 1000);
      return { indexed: result.indexed, duplicates: result.duplicates, deadLettered: result.deadLettered };
    } catch (err) {
      metrics.jobDuration.observe({ queue: QUEUES.ingest, outcome: 'failed' }, (Date.now() - started) / 1000);
      if (isSlackAuditError(err) && err.retryable && token !== undefined) {
        const n = Math.max(1, job.attemptsStarted);
        const delay = Math.min(retryMax, retryBase * 2 ** Math.min(n - 1, 20));
        const jittered = Math.round(delay / 2 + Math.random() * (delay / 2));
        ilog.warn({ jobId: job.id, code: err.code, err: err.message, retryInMs: jittered, activation: n }, 'Elasticsearch not ready; job delayed');
        metrics.errors.inc({ code: err.code });
        await job.moveToDelayed(Date.now() + jittered, token);
        throw new DelayedError();
      }
      if (isSlackAuditError(err)) metrics.errors.inc({ code: err.code });
      throw err;
    }
  };

  const worker = new Worker(QUEUES.ingest, processor, {
    connection: workerRedis,
    prefix,
    concurrency: config.collector.indexerConcurrency,
    // Completed ingest jobs hold whole pages of raw entries: keep few (a re-added page only costs 409s).
    removeOnComplete: { age: 3600, count: 100 },
    removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
  });
  worker.on('error', (err) => {
    ilog.error({ err }, 'indexer worker error');
  });
  worker.on('failed', (job, err) => {
    ilog.error({ jobId: job?.id, attemptsMade: job?.attemptsMade, err }, 'ingest job failed');
  });

  // Retention: whole monthly indices, checked at start and hourly (a no-op when retentionMonths is 0).
  const retention = async () => {
    try {
      const deleted = await applyRetention(es, config);
      if (deleted.length > 0) ilog.info({ deleted }, 'retention: deleted monthly event indices');
    } catch (err) {
      ilog.warn({ err }, 'retention check failed; will try again');
    }
  };
  let retentionTimer: NodeJS.Timeout | undefined;
  if (config.elasticsearch.retentionMonths > 0) {
    void retention();
    retentionTimer = setInterval(() => void retention(), 3600_000);
    retentionTimer.unref();
  }

  await worker.waitUntilReady();
  ilog.info({ concurrency: config.collector.indexerConcurrency, namespace: config.namespace }, 'indexer started');
  return {
    async close() {
      if (retentionTimer) clearInterval(retentionTimer);
      await worker.close();
      await rulesQueue.close();
      // Connections we passed in are ours to close (BullMQ leaves shared instances open).
      queueRedis.disconnect();
      workerRedis.disconnect();
      await es.close();
    },
  };
}
