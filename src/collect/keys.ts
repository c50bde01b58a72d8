import { names } from '../config/load.js';
import type { Config } from '../config/schema.js';

/**
 * Redis keys of the collector. Other modules (status, export) read the source hash: its layout is a contract
 * (see coverage.ts `SourceState`). Everything lives under `names(config).redisPrefix`.
 */
export function collectKeys(config: Pick<Config, 'namespace' | 'redis'>, sourceId: string) {
  const base = `${names(config).redisPrefix}:source:${sourceId}`;
  return {
    /** Hash: watermark, collectedFrom, lastSuccessAt, lastError, fatal, newestEventAt, pausedUntil, rateBudgetUsed, ... */
    source: base,
    /** Sorted set: one member per Slack request in the rolling minute (score = Redis time, ms). */
    rate: `${base}:rate`,
    /** String with a PX TTL: held while one request is in flight, so a 429 is recorded before the next request. */
    request: `${base}:request`,
    /** String with a short TTL: a live request is waiting for budget, low-priority work must yield. */
    liveWaiting: `${base}:live-waiting`,
    /** Hash: the in-flight live window. */
    liveWindow: `${base}:window:live`,
    /** Hash: the in-flight re-scan window and its run bounds. */
    rescanWindow: `${base}:window:rescan`,
    /** Hash per in-flight backfill window. */
    backfillWindow: (windowId: string) => `${base}:window:${windowId}`,
    /** Hash: backfill plan, windowId -> JSON {oldest, latest, status, events, doneAt}. */
    backfillPlan: `${base}:backfill:plan`,
    /** Sorted set of completed backfill windows, member `${oldest}-${latest}`, score latest. */
    backfillDone: `${base}:backfill:done`,
    /** String: first page number for a window id that was already run once (rescan/backfill repeats). */
    pageBase: (windowId: string) => `${base}:pagebase:${windowId}`,
    /** Locks (SET NX PX + renewal). */
    lock: (lane: string) => `${base}:lock:${lane}`,
  };
}

export type CollectKeys = ReturnType<typeof collectKeys>;
