import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config, SourceConfig } from '../config/schema.js';
import type { Logger } from '../observe/logger.js';
import { metrics } from '../observe/metrics.js';
import type { WindowKind } from '../queue/jobs.js';
import { nextRescanWindow, planLiveWindow, planRescanRange, windowIdOf } from './plan-poll-window.js';
import { RateBudget } from './rate-budget.js';
import { runWindow, type RunOutcome } from './run-window.js';
import { SourceLock } from './source-lock.js';
import { SourceStore } from './source-store.js';
import type { LogsFetcher, TimeWindow, WindowRecord } from './types.js';

/** Everything a poll or backfill run needs for one source. */
export interface SourceRuntime {
  config: Config;
  source: SourceConfig;
  redis: Redis;
  fetcher: LogsFetcher;
  store: SourceStore;
  budget: RateBudget;
  ingest: Queue;
  log: Logger;
  /** Unix ms. */
  now: () => number;
  /** Fatal errors already logged by this process (logged loudly once, not every tick). */
  fatalLogged: Set<string>;
}

export function createSourceRuntime(args: Omit<SourceRuntime, 'store' | 'budget' | 'now' | 'fatalLogged'> & { now?: () => number; fatalLogged?: Set<string> }): SourceRuntime {
  return {
    ...args,
    store: new SourceStore(args.redis, args.config, args.source.id),
    budget: RateBudget.forSource(args.redis, args.config, args.source),
    now: args.now ?? Date.now,
    fatalLogged: args.fatalLogged ?? new Set(),
  };
}

/** Identifies the token + endpoint a fatal error was seen with: a fatal source restarts only when they change. */
export function sourceFingerprint(source: Pick<SourceConfig, 'apiUrl' | 'token'>): string {
  return createHash('sha256').update(`${source.apiUrl}|${source.token ?? ''}`).digest('hex').slice(0, 16);
}

export function newRecord(sourceId: string, kind: WindowKind, w: TimeWindow, page: number, nowMs: number): WindowRecord {
  return { windowId: windowIdOf(kind, w), sourceId, kind, oldest: w.oldest, latest: w.latest, cursor: '', page, attempts: 0, restarts: 0, events: 0, startedAt: nowMs, updatedAt: nowMs };
}

export type PollResult = 'fatal' | 'busy' | 'idle' | 'caught-up' | 'deferred';

/**
 * One poll tick for a source: read live windows until caught up, then (when due) continue the reconciliation
 * re-scan. Holds the source's live lock for the whole run, so two replicas never fetch for the same source.
 */
export async function pollSource(rt: SourceRuntime, outer: AbortSignal, budgetMs: number): Promise<PollResult> {
  const { store, source, config } = rt;
  if (await isStoppedByFatal(rt)) return 'fatal';
  const lock = await SourceLock.acquire(rt.redis, store.keys.lock('live'), config.collector.lockTtlMs);
  if (lock === null) return 'busy';
  const signal = AbortSignal.any([outer, lock.signal]);
  const deadline = rt.now() + budgetMs;
  try {
    const live = await pollLive(rt, signal, deadline);
    if (live !== 'caught-up' && live !== 'idle') return live;
    if (!source.rescan.enabled) return live;
    // Re-scan yields after one poll interval so the next tick's live window is never starved by it.
    const rescan = await pollRescan(rt, signal, Math.min(deadline, rt.now() + source.pollIntervalSeconds * 1000));
    return rescan === 'deferred' || rescan === 'fatal' ? rescan : live;
  } finally {
    await lock.release();
  }
}

async function isStoppedByFatal(rt: SourceRuntime): Promise<boolean> {
  const fatal = await rt.store.fatal();
  if (fatal === null) return false;
  if (fatal.fingerprint !== undefined && fatal.fingerprint !== sourceFingerprint(rt.source)) {
    // The token or endpoint changed since the fatal error: try again.
    await rt.store.clearFatal();
    rt.fatalLogged.delete(rt.source.id);
    rt.log.info({ sourceId: rt.source.id }, 'source credentials changed since its fatal error: resuming');
    return false;
  }
  if (!rt.fatalLogged.has(rt.source.id)) {
    rt.fatalLogged.add(rt.source.id);
    rt.log.error({ sourceId: rt.source.id, code: fatal.code, error: fatal.message }, 'source is STOPPED on a fatal error; fix the token/plan/config (the source resumes when its token changes)');
  }
  return true;
}

async function onFatal(rt: SourceRuntime, outcome: Extract<RunOutcome, { status: 'fatal' }>): Promise<void> {
  await rt.store.recordFatal(outcome.error.code, outcome.error.message, rt.now(), sourceFingerprint(rt.source));
  rt.fatalLogged.add(rt.source.id);
  rt.log.error({ sourceId: rt.source.id, code: outcome.error.code, err: outcome.error.message, details: outcome.error.details }, 'FATAL Slack error: this source is stopped (other sources keep running)');
}

function deps(rt: SourceRuntime, signal: AbortSignal, deadline: number) {
  return { config: rt.config, source: rt.source, fetcher: rt.fetcher, store: rt.store, budget: rt.budget, ingest: rt.ingest, log: rt.log, signal, deadline, now: rt.now };
}

const earliestOf = (s: SourceConfig) => Math.floor(Date.parse(s.earliest) / 1000);

async function pollLive(rt: SourceRuntime, signal: AbortSignal, deadline: number): Promise<PollResult> {
  const { store, source } = rt;
  const key = store.keys.liveWindow;
  let read = false;
  for (;;) {
    let rec = await store.loadWindow(key);
    if (rec === null) {
      const plan = planLiveWindow({
        watermark: await store.watermark(),
        now: rt.now() / 1000,
        latenessSeconds: source.latenessSeconds,
        settleSeconds: source.settleSeconds,
        maxWindowSeconds: source.maxWindowSeconds,
        lookbackHours: source.lookbackHours,
        earliest: earliestOf(source),
      });
      if (plan === null) return read ? 'caught-up' : 'idle';
      rec = newRecord(source.id, 'live', plan, 0, rt.now());
      await store.createWindow(key, rec);
    }
    const outcome = await runWindow(deps(rt, signal, deadline), key, rec, async (done, newest) => {
      if (newest !== null) await store.raiseNewest(newest);
      const w = await store.finishLive(done, rt.now());
      if (w >= 0) metrics.watermark.set({ source: source.id }, w);
    });
    if (outcome.status === 'fatal') {
      await onFatal(rt, outcome);
      return 'fatal';
    }
    if (outcome.status === 'invalid-range') {
      // Our clock is ahead of Slack's or the range predates the org's history: drop the window (nothing was
      // advanced) and re-plan next tick with a fresh `now`.
      await store.dropWindow(key);
      rt.log.warn({ sourceId: source.id, window: [rec.oldest, rec.latest] }, 'invalid_range: window dropped, re-planned next tick');
      return 'deferred';
    }
    if (outcome.status === 'deferred') return 'deferred';
    read = true;
    rt.log.debug({ sourceId: source.id, windowId: rec.windowId, events: outcome.record.events }, 'live window read');
    // Keep going only while we are more than one poll interval behind: otherwise the next tick picks it up
    // (re-reading the lateness overlap every second would waste the org's budget).
    const w = await store.watermark();
    const behind = rt.now() / 1000 - source.settleSeconds - (w ?? 0);
    if (behind <= source.pollIntervalSeconds) return 'caught-up';
  }
}

async function pollRescan(rt: SourceRuntime, signal: AbortSignal, deadline: number): Promise<PollResult | 'done'> {
  const { store, source } = rt;
  const key = store.keys.rescanWindow;
  let run = await store.loadRescanRun();
  if (run === null) {
    const f = await store.getFields('lastRescanAt', 'watermark', 'collectedFrom');
    const last = Number(f.lastRescanAt ?? NaN);
    if (!Number.isFinite(last)) {
      // Never re-scanned: the first window just read this range; start the clock now.
      await store.setFields({ lastRescanAt: rt.now() });
      return 'idle';
    }
    if (rt.now() - last < source.rescan.everyMinutes * 60_000) return 'idle';
    const range = planRescanRange({
      watermark: f.watermark === null ? null : Number(f.watermark),
      collectedFrom: f.collectedFrom === null ? null : Number(f.collectedFrom),
      now: rt.now() / 1000,
      lookbackHours: source.rescan.lookbackHours,
      earliest: earliestOf(source),
    });
    const first = range === null ? null : nextRescanWindow(range, null, source.maxWindowSeconds);
    if (range === null || first === null) {
      await store.setFields({ lastRescanAt: rt.now() });
      return 'idle';
    }
    const rec = newRecord(source.id, 'rescan', first, await store.pageBase(windowIdOf('rescan', first)), rt.now());
    await store.createWindow(key, rec, { runFrom: range.oldest, runTo: range.latest });
    run = { ...rec, runFrom: range.oldest, runTo: range.latest };
    rt.log.info({ sourceId: source.id, from: range.oldest, to: range.latest }, 'reconciliation re-scan started');
  }
  for (;;) {
    const runBounds = { oldest: run.runFrom, latest: run.runTo };
    const outcome = await runWindow(deps(rt, signal, deadline), key, run, async (done, newest) => {
      if (newest !== null) await store.raiseNewest(newest);
      await store.rememberPageBase(done.windowId, done.page);
      const next = nextRescanWindow(runBounds, done, source.maxWindowSeconds);
      if (next === null) {
        await store.dropWindow(key);
        await store.setFields({ lastRescanAt: rt.now(), lastRescanRange: `${runBounds.oldest}-${runBounds.latest}` });
      } else {
        const rec = newRecord(source.id, 'rescan', next, await store.pageBase(windowIdOf('rescan', next)), rt.now());
        await store.createWindow(key, rec, { runFrom: runBounds.oldest, runTo: runBounds.latest });
      }
    });
    if (outcome.status === 'fatal') {
      await onFatal(rt, outcome);
      return 'fatal';
    }
    if (outcome.status === 'invalid-range') {
      await store.dropWindow(key);
      await store.setFields({ lastRescanAt: rt.now() });
      return 'idle';
    }
    if (outcome.status === 'deferred') return 'deferred';
    const nextRun = await store.loadRescanRun();
    if (nextRun === null) {
      rt.log.info({ sourceId: source.id }, 'reconciliation re-scan complete');
      return 'done';
    }
    run = nextRun;
  }
}
