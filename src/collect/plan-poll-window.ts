import type { WindowKind } from '../queue/jobs.js';
import type { TimeWindow } from './types.js';

/**
 * Pure window planning. All values are integer Unix seconds and every bound is INCLUSIVE, like Slack's
 * `oldest`/`latest` (../shared/slack-api.md §1.3).
 *
 * Watermark W means: every event with date_create <= W has been durably queued (modulo events that reach the
 * API later than `lateness`, which the re-scan catches). W only ever becomes the `latest` of a fully read window:
 * never the newest event seen, never a partial run (§1.4, and the peer bugs listed in issue 4).
 */

export interface LivePlanInput {
  /** null before the first successful window. */
  watermark: number | null;
  /** Unix seconds (may be fractional; floored). */
  now: number;
  latenessSeconds: number;
  settleSeconds: number;
  maxWindowSeconds: number;
  lookbackHours: number;
  /** Earliest second Slack accepts (no data before March 2018; earlier gives invalid_range). */
  earliest: number;
}

/**
 * Next live window: [max(W - lateness, earliest), min(now - settle, W + maxWindow)].
 * The new part beyond W is capped at maxWindow (the overlap below W is extra), so a catch-up always makes
 * progress even when lateness > maxWindow. First run: oldest = now - lookback.
 * Returns null when there is no new second to read yet (now - settle <= W).
 */
export function planLiveWindow(i: LivePlanInput): TimeWindow | null {
  const upper = Math.floor(i.now) - Math.max(0, Math.floor(i.settleSeconds));
  const earliest = Math.max(0, Math.floor(i.earliest));
  const max = Math.max(1, Math.floor(i.maxWindowSeconds));
  if (i.watermark === null) {
    const oldest = Math.max(earliest, Math.floor(i.now - i.lookbackHours * 3600));
    const latest = Math.min(upper, oldest + max);
    return latest >= oldest ? { oldest, latest } : null;
  }
  const w = Math.floor(i.watermark);
  if (upper <= w) return null;
  const oldest = Math.max(earliest, w - Math.max(0, Math.floor(i.latenessSeconds)));
  const latest = Math.min(upper, Math.max(w, earliest) + max);
  if (latest < oldest || latest <= w) return null;
  return { oldest, latest };
}

/** Deterministic window id (IngestJobV1.windowId contract): `${kind}:${oldest}-${latest}`. */
export function windowIdOf(kind: WindowKind, w: TimeWindow): string {
  return `${kind}:${w.oldest}-${w.latest}`;
}

/**
 * Clamp a window into what Slack accepts (the `invalid_range` remedy, §1.8): not before `earliest`, not after
 * `now - settle`. Null when nothing is left.
 */
export function clampWindow(w: TimeWindow, earliest: number, now: number, settleSeconds: number): TimeWindow | null {
  const oldest = Math.max(Math.floor(w.oldest), Math.floor(earliest), 0);
  const latest = Math.min(Math.floor(w.latest), Math.floor(now) - Math.max(0, Math.floor(settleSeconds)));
  return latest >= oldest ? { oldest, latest } : null;
}

/** Split [from, to] (inclusive) into consecutive windows of at most `size` seconds, oldest first. */
export function splitRange(from: number, to: number, size: number): TimeWindow[] {
  const out: TimeWindow[] = [];
  const step = Math.max(1, Math.floor(size));
  for (let oldest = Math.floor(from); oldest <= to; oldest += step) {
    out.push({ oldest, latest: Math.min(Math.floor(to), oldest + step - 1) });
  }
  return out;
}

export interface RescanPlanInput {
  watermark: number | null;
  collectedFrom: number | null;
  now: number;
  lookbackHours: number;
  earliest: number;
}

/**
 * The range a reconciliation re-scan re-reads: the closed part of the last `lookbackHours`, i.e.
 * [max(W - lookback, collectedFrom, earliest), W]. Null before the first window or when empty.
 */
export function planRescanRange(i: RescanPlanInput): TimeWindow | null {
  if (i.watermark === null) return null;
  const to = Math.floor(i.watermark);
  const from = Math.max(to - Math.floor(i.lookbackHours * 3600), i.collectedFrom ?? -Infinity, Math.floor(i.earliest), 0);
  if (i.lookbackHours <= 0 || from > to) return null;
  return { oldest: from, latest: to };
}

/** The re-scan window after `prev` inside the run [runFrom, runTo], or null when the run is complete. */
export function nextRescanWindow(run: TimeWindow, prev: TimeWindow | null, maxWindowSeconds: number): TimeWindow | null {
  const oldest = prev === null ? run.oldest : prev.latest + 1;
  if (oldest > run.latest) return null;
  return { oldest, latest: Math.min(run.latest, oldest + Math.max(1, Math.floor(maxWindowSeconds)) - 1) };
}

/**
 * Backfill windows for [since, until] (inclusive), NEWEST first: finishing the newest window first keeps the
 * collected range contiguous with `collectedFrom`, so coverage grows backwards one window at a time.
 */
export function planBackfillWindows(since: number, until: number, windowSeconds: number): TimeWindow[] {
  if (until < since) return [];
  return splitRange(since, until, windowSeconds).reverse();
}

/** Contiguity rule for coverage: a range lowers `collectedFrom` when it reaches at least the second before it. */
export function extendsCoverage(collectedFrom: number, w: TimeWindow): boolean {
  return w.latest >= collectedFrom - 1 && w.oldest < collectedFrom;
}
