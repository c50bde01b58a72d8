import { Queue, Worker, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import { names } from '../config/load.js';
import { isSlackAuditError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import { metrics } from '../observe/metrics.js';
import { QUEUES } from '../queue/jobs.js';
import { bullPrefix, createRedis } from '../queue/connection.js';
import type { AlertDocument } from '../rules/alerts.js';
import type { CompiledRule } from '../rules/evaluate.js';
import { GuardStore } from './guards.js';
import { processAction, type ResponderDeps } from './process-action.js';
import type { ActionRecorder } from './records.js';
import { actionKey, type ActionJobV1, type AuditLogLookup, type SessionResetter } from './types.js';

/** The jobs an alert's rule asks for: one per listed action, keyed by alert id + action index + type. */
export function actionJobsFor(rule: CompiledRule, alert: AlertDocument, sourceId?: string): ActionJobV1[] {
  const r = rule.rule;
  const a = alert.slack.alert;
  const target = (alert.user as { target?: { id: string; email?: string; name?: string } } | undefined)?.target;
  return r.actions.map((action, i) => ({
    v: 1 as const,
    key: actionKey(a.id, i, action.type),
    alertId: a.id,
    actionIndex: i,
    action,
    rule: { id: r.id, name: r.name, severity: r.severity, reference: r.reference },
    ...(target ? { target } : {}),
    alert: { firstSeen: a.first_seen, lastSeen: a.last_seen, count: a.count, groupKey: a.group.key, eventIds: a.event_ids.slice(0, 20) },
    ...(sourceId ? { sourceId } : {}),
  }));
}

export function actionJobOptions(config: Config, key: string): JobsOptions {
  return {
    jobId: key,
    attempts: config.responses.maxAttempts,
    backoff: { type: 'retry-after' },
    // Completed jobs are kept a week so a replayed alert cannot re-add the same job id; the Redis action
    // record (30 days) is the second line of defence.
    removeOnComplete: { age: 7 * 86_400, count: 50_000 },
    removeOnFail: { age: 30 * 86_400 },
  };
}

export async function enqueueActions(queue: Queue, config: Config, jobs: readonly ActionJobV1[]): Promise<void> {
  if (jobs.length === 0) return;
  await queue.addBulk(jobs.map((data) => ({ name: data.action.type, data, opts: actionJobOptions(config, data.key) })));
}

/** Honour Slack's Retry-After when the error carries one; otherwise exponential from 1 s up to 5 min. */
export function retryDelayMs(attemptsMade: number, err: Error | undefined): number {
  if (isSlackAuditError(err) && err.retryAfterSeconds !== undefined) return Math.max(0, err.retryAfterSeconds * 1000);
  return Math.min(300_000, 1000 * 2 ** Math.max(0, attemptsMade - 1));
}

export interface ActionsWorkerOptions {
  resetter?: SessionResetter | undefined;
  audit?: AuditLogLookup | undefined;
  recorder: ActionRecorder;
  /** Shorter locks make a crashed worker's job come back sooner (tests); BullMQ defaults otherwise. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  concurrency?: number;
  connection?: Redis;
}

export interface ActionsWorkerHandle {
  worker: Worker<ActionJobV1>;
  close(): Promise<void>;
}

const actionJobShape = (data: unknown): data is ActionJobV1 =>
  typeof data === 'object' && data !== null && (data as { v?: unknown }).v === 1 && typeof (data as { key?: unknown }).key === 'string';

export function startActionsWorker(config: Config, log: Logger, opts: ActionsWorkerOptions): ActionsWorkerHandle {
  const connection = opts.connection ?? createRedis(config, 'worker');
  const ownConnection = opts.connection === undefined;
  const guards = new GuardStore(connection, names(config).redisPrefix);
  const deps: ResponderDeps = { config, guards, recorder: opts.recorder, resetter: opts.resetter, audit: opts.audit, log: log.child({ component: 'actions' }) };
  const worker = new Worker<ActionJobV1>(
    QUEUES.actions,
    async (job: Job<ActionJobV1>) => {
      const data: unknown = job.data;
      if (!actionJobShape(data)) {
        log.error({ jobId: job.id, v: (data as { v?: unknown } | null)?.v }, 'unknown action job payload version; skipping');
        return { skipped: 'unknown_version' };
      }
      const started = Date.now();
      try {
        const res = await processAction(data, deps, { attemptsMade: job.attemptsMade, maxAttempts: job.opts.attempts ?? config.responses.maxAttempts });
        metrics.jobDuration.observe({ queue: QUEUES.actions, outcome: 'ok' }, (Date.now() - started) / 1000);
        return res;
      } catch (err) {
        metrics.jobDuration.observe({ queue: QUEUES.actions, outcome: 'retry' }, (Date.now() - started) / 1000);
        if (isSlackAuditError(err)) metrics.errors.inc({ code: err.code });
        log.warn({ err, key: data.key, attempt: job.attemptsMade + 1 }, 'response action will be retried');
        throw err;
      }
    },
    {
      connection,
      prefix: bullPrefix(config),
      concurrency: opts.concurrency ?? 4,
      ...(opts.lockDurationMs !== undefined ? { lockDuration: opts.lockDurationMs } : {}),
      ...(opts.stalledIntervalMs !== undefined ? { stalledInterval: opts.stalledIntervalMs } : {}),
      settings: { backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) => retryDelayMs(attemptsMade, err) },
    },
  );
  worker.on('error', (err) => {
    log.error({ err }, 'actions worker error');
  });
  return {
    worker,
    close: async () => {
      await worker.close();
      if (ownConnection) connection.disconnect();
    },
  };
}
