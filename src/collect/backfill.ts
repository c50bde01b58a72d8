import { DelayedError, UnrecoverableError, type Job, type JobsOptions, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import { windowIdOf } from './plan-poll-window.js';
import { newRecord, sourceFingerprint, type SourceRuntime } from './poll-source.js';
import { runWindow } from './run-window.js';
import { SourceLock } from './source-lock.js';
import { collectKeys } from './keys.js';
import type { TimeWindow } from './types.js';

/**
 * Backfill: historical windows on their own queue (QUEUES.backfill) with their own window records, read at LOW
 * priority on the shared rate budget (live polling keeps a reserve and goes first). The plan lives in Redis
 * (`<prefix>:source:<id>:backfill:plan`, windowId -> {oldest, latest, status, events}); completed windows are
 * skipped, an interrupted one resumes from its saved cursor, and job ids are deterministic, so re-running the
 * command is idempotent.
 */

export interface BackfillJobV1 {
  v: 1;
  sourceId: string;
  windowId: string;
  oldest: number;
  latest: number;
}

export const backfillJobSchema = z.object({ v: z.literal(1), sourceId: z.string(), windowId: z.string(), oldest: z.number().int(), latest: z.number().int() });

export function backfillJobId(sourceId: string, w: TimeWindow): string {
  return `backfill.${sourceId}.${w.oldest}-${w.latest}`;
}

const planEntry = z.object({ oldest: z.number(), latest: z.number(), status: z.enum(['pending', 'done']), events: z.number().default(0), doneAt: z.number().optional() }).loose();
export type BackfillPlanEntry = z.infer<typeof planEntry>;

const JOB_OPTIONS: JobsOptions = {
  attempts: 20,
  backoff: { type: 'exponential', delay: 5000, jitter: 0.25 },
  removeOnComplete: { age: 86400, count: 2000 },
  removeOnFail: { age: 7 * 86400, count: 2000 },
};

export interface EnqueueResult {
  windows: number;
  alreadyDone: number;
  queued: number;
}

/** Record the plan (keeping windows already done) and queue every window not done yet, newest first. */
export async function enqueueBackfill(redis: Redis, queue: Queue, config: Config, sourceId: string, windows: TimeWindow[]): Promise<EnqueueResult> {
  const keys = collectKeys(config, sourceId);
  const result: EnqueueResult = { windows: windows.length, alreadyDone: 0, queued: 0 };
  for (const [i, w] of windows.entries()) {
    const windowId = windowIdOf('backfill', w);
    await redis.hsetnx(keys.backfillPlan, windowId, JSON.stringify({ oldest: w.oldest, latest: w.latest, status: 'pending', events: 0 }));
    const entry = parsePlanEntry(await redis.hget(keys.backfillPlan, windowId));
    if (entry?.status === 'done') {
      result.alreadyDone += 1;
      continue;
    }
    const jobId = backfillJobId(sourceId, w);
    const existing = await queue.getJob(jobId);
    if (existing !== undefined) {
      const state = await existing.getState();
      // A finished job with the same id would make add() a no-op: clear it so the window runs again.
      if (state === 'completed' || state === 'failed') await existing.remove();
      else {
        result.queued += 1;
        continue;
      }
    }
    const data: BackfillJobV1 = { v: 1, sourceId, windowId, oldest: w.oldest, latest: w.latest };
    // BullMQ priority: 1 is the highest. Newest windows first keeps coverage contiguous with collectedFrom.
    await queue.add('backfill', data, { ...JOB_OPTIONS, jobId, priority: Math.min(2_000_000, i + 1) });
    result.queued += 1;
  }
  return result;
}

export function parsePlanEntry(raw: string | null | undefined): BackfillPlanEntry | null {
  if (raw === null || raw === undefined) return null;
  try {
    const p = planEntry.safeParse(JSON.parse(raw));
    return p.success ? p.data : null;
  } catch {
    return null;
  }
}

export interface BackfillProgress {
  windows: number;
  done: number;
  events: number;
  /** Windows in progress with their saved position. */
  running: number;
}

/** Progress of the windows listed (or of the whole plan). */
export async function backfillProgress(redis: Redis, config: Config, sourceId: string, windowIds?: string[]): Promise<BackfillProgress> {
  const keys = collectKeys(config, sourceId);
  const all = await redis.hgetall(keys.backfillPlan);
  const ids = windowIds ?? Object.keys(all);
  const out: BackfillProgress = { windows: ids.length, done: 0, events: 0, running: 0 };
  for (const id of ids) {
    const e = parsePlanEntry(all[id]);
    if (e?.status === 'done') {
      out.done += 1;
      out.events += e.events;
    } else if ((await redis.exists(keys.backfillWindow(id))) === 1) {
      out.running += 1;
      out.events += Number((await redis.hget(keys.backfillWindow(id), 'events')) ?? 0);
    }
  }
  return out;
}

export type BackfillRunResult = 'done' | 'skipped';

/**
 * Process one backfill job. Deferred runs (budget, 429 pause, backpressure, shutdown) move the job back to
 * delayed WITHOUT spending an attempt, keeping the window position in Redis.
 */
export async function processBackfillJob(rt: SourceRuntime, job: Job, token: string | undefined, outer: AbortSignal, budgetMs: number): Promise<BackfillRunResult> {
  const parsed = backfillJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`backfill job ${job.id ?? '?'} has an unknown payload shape`);
  const data = parsed.data;
  const { store } = rt;
  const entry = parsePlanEntry(await rt.redis.hget(store.keys.backfillPlan, data.windowId));
  if (entry?.status === 'done') return 'skipped';
  const fatal = await store.fatal();
  if (fatal !== null && (fatal.fingerprint === undefined || fatal.fingerprint === sourceFingerprint(rt.source))) {
    throw await delay(job, token, 60_000);
  }
  const key = store.keys.backfillWindow(data.windowId);
  const lock = await SourceLock.acquire(rt.redis, store.keys.lock(data.windowId), rt.config.collector.lockTtlMs);
  if (lock === null) {
    throw await delay(job, token, rt.config.collector.lockTtlMs);
  }
  const signal = AbortSignal.any([outer, lock.signal]);
  try {
    let rec = await store.loadWindow(key);
    if (rec === null) {
      const w = { oldest: data.oldest, latest: data.latest };
      rec = newRecord(rt.source.id, 'backfill', w, await store.pageBase(data.windowId), rt.now());
      await store.createWindow(key, rec);
    }
    const outcome = await runWindow(
      { config: rt.config, source: rt.source, fetcher: rt.fetcher, store, budget: rt.budget, ingest: rt.ingest, log: rt.log, signal, deadline: rt.now() + budgetMs, now: rt.now },
      key,
      rec,
      async (done, newest) => {
        if (newest !== null) await store.raiseNewest(newest);
        await store.rememberPageBase(done.windowId, done.page);
        await store.finishBackfill(done, rt.now());
      },
    );
    if (outcome.status === 'done') {
      rt.log.info({ sourceId: rt.source.id, windowId: data.windowId, events: outcome.record.events }, 'backfill window done');
      return 'done';
    }
    if (outcome.status === 'invalid-range') {
      // Slack says no audit history exists there (before the org's Audit Logs start): nothing to collect.
      await store.finishBackfill(outcome.record, rt.now());
      rt.log.warn({ sourceId: rt.source.id, windowId: data.windowId }, 'backfill window outside the org audit history (invalid_range): marked done, empty');
      return 'done';
    }
    if (outcome.status === 'fatal') {
      await store.recordFatal(outcome.error.code, outcome.error.message, rt.now(), sourceFingerprint(rt.source));
      rt.log.error({ sourceId: rt.source.id, code: outcome.error.code }, 'FATAL Slack error during backfill: source stopped');
      throw await delay(job, token, 60_000);
    }
    const pausedUntil = Number((await store.getFields('pausedUntil')).pausedUntil ?? 0);
    throw await delay(job, token, Math.max(1000, pausedUntil - Date.now()));
  } finally {
    await lock.release();
  }
}

/** Give the job back for later without spending an attempt (BullMQ: moveToDelayed, then throw DelayedError). */
async function delay(job: Job, token: string | undefined, ms: number): Promise<DelayedError> {
  await job.moveToDelayed(Date.now() + ms, token);
  return new DelayedError();
}
