import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import { QUEUES } from '../queue/jobs.js';
import { bullPrefix } from '../queue/connection.js';
import { pendingJobs } from './ingest-producer.js';
import { collectKeys } from './keys.js';
import { parseProblem, toInt, type StoredProblem } from './source-store.js';

/**
 * Read side of the collector's Redis state, for `status` and the compliance export's completeness statement.
 *
 * Source hash `<names(config).redisPrefix>:source:<sourceId>` (the contract):
 *   watermark      Unix s   every event with date_create <= watermark has been durably queued for indexing
 *   collectedFrom  Unix s   oldest second of the continuously collected range (first window's oldest; lowered by
 *                           backfill windows contiguous with it)
 *   newestEventAt  Unix s   newest date_create seen
 *   lastSuccessAt  Unix ms  last live window completed
 *   lastError      JSON {code, message, at(Unix ms)}
 *   fatal          JSON {code, message, at, fingerprint} or absent: the source is stopped
 *   pausedUntil    Unix ms  no Slack request before this (429 Retry-After), shared by every replica
 *   rateBudgetUsed / rateBudgetLimit   requests in the rolling minute at the last request / the budget
 *   lastRequestAt  Unix ms; lastRescanAt Unix ms; lastRescanRange "oldest-latest"; lastBackfillAt Unix ms
 */

export interface CollectorSourceState {
  sourceId: string;
  watermark: number | null;
  collectedFrom: number | null;
  newestEventAt: number | null;
  lastSuccessAt: number | null;
  lastError: StoredProblem | null;
  fatal: StoredProblem | null;
  pausedUntil: number | null;
  /** Requests in the current rolling minute (live count from the budget's log). */
  rateBudgetUsed: number;
  rateBudgetLimit: number | null;
  lastRescanAt: number | null;
  /** The in-flight live window, if a run was interrupted or is running. */
  liveWindow: { windowId: string; page: number; cursor: boolean } | null;
}

export async function readSourceState(redis: Redis, config: Pick<Config, 'namespace' | 'redis'>, sourceId: string): Promise<CollectorSourceState> {
  const keys = collectKeys(config, sourceId);
  const [h, live, times] = await Promise.all([redis.hgetall(keys.source), redis.hmget(keys.liveWindow, 'windowId', 'page', 'cursor'), redis.time()]);
  const nowMs = Number(times[0]) * 1000 + Math.floor(Number(times[1]) / 1000);
  const used = await redis.zcount(keys.rate, nowMs - 60_000 + 1, '+inf');
  return {
    sourceId,
    watermark: toInt(h.watermark),
    collectedFrom: toInt(h.collectedFrom),
    newestEventAt: toInt(h.newestEventAt),
    lastSuccessAt: toInt(h.lastSuccessAt),
    lastError: parseProblem(h.lastError),
    fatal: parseProblem(h.fatal),
    pausedUntil: toInt(h.pausedUntil),
    rateBudgetUsed: used,
    rateBudgetLimit: toInt(h.rateBudgetLimit),
    lastRescanAt: toInt(h.lastRescanAt),
    liveWindow: live[0] ? { windowId: live[0], page: toInt(live[1]) ?? 0, cursor: (live[2] ?? '') !== '' } : null,
  };
}

export interface Coverage {
  /** Oldest second collected (including disconnected backfill windows), or null if nothing was collected. */
  from: number | null;
  /** The watermark. */
  to: number | null;
  /** Ingest jobs not yet indexed (whole ingest queue: waiting, delayed, active...). Entries up to `to` are only
   * guaranteed in ES once this is 0. */
  pendingIngestJobs: number;
  /** Inclusive [oldest, latest] ranges inside [from, to] that were NOT collected. */
  gaps: Array<[number, number]>;
}

/**
 * What the collector can vouch for. The live range [collectedFrom, watermark] is contiguous by construction (the
 * watermark only moves to the end of a fully read window that overlaps the previous one). Backfill windows below
 * collectedFrom that are not contiguous with it show up as covered islands with gaps between them.
 */
export async function readCoverage(redis: Redis, config: Config, sourceId: string, ingestQueue?: Queue): Promise<Coverage> {
  const keys = collectKeys(config, sourceId);
  const [wm, cf] = await redis.hmget(keys.source, 'watermark', 'collectedFrom');
  const to = toInt(wm);
  const collectedFrom = toInt(cf);
  const queue = ingestQueue ?? new Queue(QUEUES.ingest, { connection: redis, prefix: bullPrefix(config) });
  let pending: number;
  try {
    pending = await pendingJobs(queue);
  } finally {
    if (ingestQueue === undefined) await queue.close();
  }
  if (to === null || collectedFrom === null) return { from: null, to, pendingIngestJobs: pending, gaps: [] };
  const members = await redis.zrangebyscore(keys.backfillDone, '-inf', collectedFrom - 2);
  const islands = members
    .map((m) => m.split('-').map(Number) as [number, number])
    .filter(([o, l]) => Number.isFinite(o) && Number.isFinite(l) && l < collectedFrom - 1)
    .sort((a, b) => a[0] - b[0]);
  if (islands.length === 0) return { from: collectedFrom, to, pendingIngestJobs: pending, gaps: [] };
  const gaps: Array<[number, number]> = [];
  let covered = (islands[0] as [number, number])[1];
  for (const [o, l] of islands.slice(1)) {
    if (o > covered + 1) gaps.push([covered + 1, o - 1]);
    covered = Math.max(covered, l);
  }
  if (collectedFrom > covered + 1) gaps.push([covered + 1, collectedFrom - 1]);
  return { from: (islands[0] as [number, number])[0], to, pendingIngestJobs: pending, gaps };
}
