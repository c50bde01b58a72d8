import type { Queue } from 'bullmq';
import type { Config, SourceConfig } from '../config/schema.js';
import { SlackAuditError, errorMessage } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import { metrics } from '../observe/metrics.js';
import { backlogJobs, queuePage } from './ingest-producer.js';
import type { RateBudget } from './rate-budget.js';
import { backoffMs, sleep } from './sleep.js';
import type { SourceStore } from './source-store.js';
import type { LogsFetcher, WindowRecord } from './types.js';

/**
 * Read one window to its end, newest first (Slack's only order, §1.4), resending oldest/latest on EVERY page
 * with the cursor (the cursor does not carry them: Elastic integrations #8163).
 *
 * After each page is durably queued the record (next cursor, next page number) is saved; after the LAST page,
 * `complete` runs (it advances the watermark / marks the window done). A run that has to stop early (Retry-After
 * longer than its deadline, backpressure, retryable errors, shutdown) returns `deferred` with its position saved,
 * and the next run resumes from it with the same bounds.
 */

export interface RunWindowDeps {
  config: Config;
  source: SourceConfig;
  fetcher: LogsFetcher;
  store: SourceStore;
  budget: RateBudget;
  ingest: Queue;
  log: Logger;
  signal: AbortSignal;
  /** Unix ms after which the run yields (keeping its position). */
  deadline: number;
  now?: () => number;
  /** Retryable failures in a row after which the run yields (the position is kept; the next run continues). */
  maxAttemptsPerRun?: number;
}

export type DeferReason = 'aborted' | 'deadline' | 'budget' | 'backpressure' | 'retrying';

export type RunOutcome =
  | { status: 'done'; record: WindowRecord }
  | { status: 'deferred'; reason: DeferReason; record: WindowRecord }
  | { status: 'fatal'; error: SlackAuditError; record: WindowRecord }
  | { status: 'invalid-range'; error: SlackAuditError; record: WindowRecord };

const MAX_RESTARTS_IN_A_ROW = 5;

/** Read through a call: TypeScript narrows `signal.aborted` across awaits, but the signal may fire meanwhile. */
const isAborted = (signal: AbortSignal): boolean => signal.aborted;

export async function runWindow(d: RunWindowDeps, key: string, start: WindowRecord, complete: (rec: WindowRecord, newestEventAt: number | null) => Promise<void>): Promise<RunOutcome> {
  const now = d.now ?? Date.now;
  const priority = start.kind === 'live' ? 'live' : 'low';
  const maxAttempts = d.maxAttemptsPerRun ?? 6;
  const log = d.log.child({ sourceId: d.source.id, windowId: start.windowId });
  let rec: WindowRecord = { ...start };
  let restartsThisRun = 0;
  let backpressureLogged = false;

  for (;;) {
    if (d.signal.aborted) return { status: 'deferred', reason: 'aborted', record: rec };
    if (now() >= d.deadline) return { status: 'deferred', reason: 'deadline', record: rec };

    // Backpressure: do not pull more from Slack than the indexer can absorb; keep the position and wait.
    const backlog = await backlogJobs(d.ingest);
    metrics.queueDepth.set({ queue: 'ingest', state: 'backlog' }, backlog);
    if (backlog > d.config.collector.maxQueuedJobs) {
      if (!backpressureLogged) log.info({ backlog, max: d.config.collector.maxQueuedJobs }, 'ingest queue is full: fetching paused');
      backpressureLogged = true;
      const left = d.deadline - now();
      if (left <= 0) return { status: 'deferred', reason: 'backpressure', record: rec };
      await sleep(Math.min(1000, left), d.signal);
      continue;
    }

    const lease = await d.budget.acquire(priority, d.signal, d.deadline - now());
    if (lease === null) return { status: 'deferred', reason: isAborted(d.signal) ? 'aborted' : 'budget', record: rec };

    let page: Awaited<ReturnType<LogsFetcher['fetchPage']>>;
    try {
      page = await d.fetcher.fetchPage({ oldest: rec.oldest, latest: rec.latest, limit: d.source.pageLimit, ...(rec.cursor === '' ? {} : { cursor: rec.cursor }) }, d.signal);
    } catch (err) {
      // Every branch that sets a pause runs BEFORE the lease is released (finally): no replica can send a request
      // between a 429 and the moment its Retry-After is recorded.
      const outcome = await handleFailure(err);
      if (outcome !== null) return outcome;
      continue;
    } finally {
      await d.budget.release(lease);
    }

    const fetchedAt = now();
    const queued = await queuePage(d.ingest, d.config, { sourceId: d.source.id, kind: rec.kind, windowId: rec.windowId, page: rec.page, entries: page.entries, texts: page.texts, fetchedAt });
    metrics.eventsFetched.inc({ source: d.source.id, kind: rec.kind }, page.entries.length);
    restartsThisRun = 0;
    rec = { ...rec, page: rec.page + 1, cursor: page.nextCursor ?? '', attempts: 0, events: rec.events + queued.entries, updatedAt: fetchedAt };
    if (page.nextCursor === undefined) {
      // The last page is queued: only now may the window count as read.
      await complete(rec, queued.newestEventAt);
      log.debug({ events: rec.events, pages: rec.page }, 'window complete');
      return { status: 'done', record: rec };
    }
    await d.store.saveProgress(key, rec, queued.newestEventAt);
  }

  async function handleFailure(err: unknown): Promise<RunOutcome | null> {
    if (d.signal.aborted) return { status: 'deferred', reason: 'aborted', record: rec };
    const e = err instanceof SlackAuditError ? err : null;
    const code = e?.code ?? 'SLACK_AUDIT_INTERNAL';
    metrics.errors.inc({ code });
    await d.store.recordError(code, errorMessage(err), now());
    if (code === 'SLACK_AUDIT_SLACK_RATE_LIMITED') {
      const seconds = e?.retryAfterSeconds ?? 30;
      const until = await d.budget.pause(seconds);
      metrics.slackRetryAfterSeconds.inc({ source: d.source.id }, seconds);
      log.warn({ retryAfterSeconds: seconds, pausedUntil: new Date(until).toISOString() }, 'Slack rate limited this source: paused');
      return null;
    }
    if (code === 'SLACK_AUDIT_SLACK_INVALID_CURSOR') {
      // Restart the window from its first page with the same bounds. Page numbers keep counting up, so the re-read
      // pages get fresh job ids (content may have shifted); the indexer's create-by-id drops the duplicates.
      restartsThisRun += 1;
      rec = { ...rec, cursor: '', attempts: 0, restarts: rec.restarts + 1, updatedAt: now() };
      await d.store.saveProgress(key, rec, null);
      log.warn({ restarts: rec.restarts, page: rec.page }, 'invalid_cursor: restarting the window from its first page');
      if (restartsThisRun >= MAX_RESTARTS_IN_A_ROW) return { status: 'deferred', reason: 'retrying', record: rec };
      await sleep(backoffMs(restartsThisRun, d.config.collector.retryBaseMs, d.config.collector.retryMaxMs), d.signal);
      return null;
    }
    if (code === 'SLACK_AUDIT_SLACK_INVALID_RANGE') return { status: 'invalid-range', error: e as SlackAuditError, record: rec };
    if (e !== null && !e.retryable) return { status: 'fatal', error: e, record: rec };
    // Retryable (5xx, network, timeout, bad body) or an unexpected error: back off with jitter, keep the position.
    rec = { ...rec, attempts: rec.attempts + 1, updatedAt: now() };
    await d.store.saveProgress(key, rec, null);
    log.warn({ code, attempts: rec.attempts, err: errorMessage(err) }, 'Slack request failed; will retry from the same position');
    if (rec.attempts % maxAttempts === 0) return { status: 'deferred', reason: 'retrying', record: rec };
    const wait = backoffMs(rec.attempts, d.config.collector.retryBaseMs, d.config.collector.retryMaxMs);
    if (now() + wait >= d.deadline) return { status: 'deferred', reason: 'retrying', record: rec };
    await sleep(wait, d.signal);
    return null;
  }
}
