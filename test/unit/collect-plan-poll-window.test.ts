import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { clampWindow, extendsCoverage, nextRescanWindow, planBackfillWindows, planLiveWindow, planRescanRange, splitRange, windowIdOf } from '../../src/collect/plan-poll-window.js';

const base = { latenessSeconds: 300, settleSeconds: 5, maxWindowSeconds: 86_400, lookbackHours: 168, earliest: Date.parse('2018-03-01T00:00:00Z') / 1000 };
const NOW = 1_760_000_000;

describe('planLiveWindow', () => {
  it('first run reads from now - lookback up to now - settle (capped by maxWindow)', () => {
    expect(planLiveWindow({ ...base, watermark: null, now: NOW, lookbackHours: 1 })).toEqual({ oldest: NOW - 3600, latest: NOW - 5 });
    expect(planLiveWindow({ ...base, watermark: null, now: NOW, lookbackHours: 48, maxWindowSeconds: 3600 })).toEqual({ oldest: NOW - 48 * 3600, latest: NOW - 48 * 3600 + 3600 });
  });

  it('re-reads the lateness overlap below the watermark, bounds inclusive and integers', () => {
    const w = planLiveWindow({ ...base, watermark: NOW - 60, now: NOW + 0.9 });
    expect(w).toEqual({ oldest: NOW - 60 - 300, latest: NOW - 5 });
    expect(Number.isInteger(w?.oldest) && Number.isInteger(w?.latest)).toBe(true);
  });

  it('returns null when no new second is readable yet (never re-reads the overlap on every tick)', () => {
    expect(planLiveWindow({ ...base, watermark: NOW - 5, now: NOW })).toBeNull();
    expect(planLiveWindow({ ...base, watermark: NOW, now: NOW })).toBeNull();
    // Clock skew: the watermark is ahead of our clock.
    expect(planLiveWindow({ ...base, watermark: NOW + 100, now: NOW })).toBeNull();
  });

  it('a catch-up always moves past the watermark, even when lateness exceeds maxWindow', () => {
    const w = planLiveWindow({ ...base, latenessSeconds: 3600, maxWindowSeconds: 60, watermark: NOW - 10_000, now: NOW });
    expect(w).toEqual({ oldest: NOW - 10_000 - 3600, latest: NOW - 10_000 + 60 });
  });

  it('never asks before the earliest second Slack accepts (invalid_range)', () => {
    const earliest = NOW - 1000;
    expect(planLiveWindow({ ...base, earliest, watermark: null, now: NOW, lookbackHours: 24 })).toEqual({ oldest: earliest, latest: NOW - 5 });
    expect(planLiveWindow({ ...base, earliest, watermark: earliest + 10, now: NOW })?.oldest).toBe(earliest);
  });

  it('property: consecutive windows leave no gap and the watermark only grows', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 900 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 60, max: 7200 }),
        fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 30 }),
        (lateness, settle, maxWindow, steps) => {
          let watermark: number | null = null;
          let now = NOW;
          let covered: number | null = null; // highest second read contiguously from the first window
          for (const step of steps) {
            now += step;
            const w = planLiveWindow({ ...base, latenessSeconds: lateness, settleSeconds: settle, maxWindowSeconds: maxWindow, lookbackHours: 1, watermark, now });
            if (w === null) continue;
            expect(w.oldest).toBeLessThanOrEqual(w.latest);
            expect(w.latest).toBeLessThanOrEqual(now - settle);
            if (covered !== null) expect(w.oldest).toBeLessThanOrEqual(covered + 1);
            if (watermark !== null) {
              expect(w.latest).toBeGreaterThan(watermark);
              expect(w.latest - watermark).toBeLessThanOrEqual(maxWindow);
            }
            covered = w.latest;
            watermark = w.latest; // the watermark becomes the window's latest, never the newest event seen
          }
        },
      ),
    );
  });
});

describe('window helpers', () => {
  it('windowIdOf follows the IngestJobV1 contract', () => {
    expect(windowIdOf('live', { oldest: 10, latest: 20 })).toBe('live:10-20');
  });

  it('clampWindow cuts to [earliest, now - settle] and gives null when nothing is left', () => {
    expect(clampWindow({ oldest: 50, latest: 500 }, 100, 300, 10)).toEqual({ oldest: 100, latest: 290 });
    expect(clampWindow({ oldest: 10, latest: 50 }, 100, 300, 10)).toBeNull();
  });

  it('splitRange covers every second exactly once', () => {
    const parts = splitRange(100, 350, 100);
    expect(parts).toEqual([
      { oldest: 100, latest: 199 },
      { oldest: 200, latest: 299 },
      { oldest: 300, latest: 350 },
    ]);
    expect(splitRange(5, 5, 100)).toEqual([{ oldest: 5, latest: 5 }]);
    expect(splitRange(6, 5, 100)).toEqual([]);
  });

  it('backfill windows come newest first and tile [since, until]', () => {
    const w = planBackfillWindows(0, 86_400 * 3 - 1, 86_400);
    expect(w.map((x) => x.oldest)).toEqual([172_800, 86_400, 0]);
    expect(w[0]?.latest).toBe(86_400 * 3 - 1);
    expect(planBackfillWindows(10, 5, 100)).toEqual([]);
  });

  it('re-scan covers the closed last lookbackHours, bounded by collectedFrom, in windows', () => {
    const range = planRescanRange({ watermark: 100_000, collectedFrom: 50_000, now: 100_010, lookbackHours: 24, earliest: 0 });
    expect(range).toEqual({ oldest: 50_000, latest: 100_000 });
    expect(planRescanRange({ watermark: 100_000, collectedFrom: 0, now: 0, lookbackHours: 1, earliest: 0 })).toEqual({ oldest: 96_400, latest: 100_000 });
    expect(planRescanRange({ watermark: null, collectedFrom: null, now: 0, lookbackHours: 1, earliest: 0 })).toBeNull();
    const run = { oldest: 0, latest: 250 };
    const first = nextRescanWindow(run, null, 100);
    expect(first).toEqual({ oldest: 0, latest: 99 });
    const third = nextRescanWindow(run, { oldest: 100, latest: 199 }, 100);
    expect(third).toEqual({ oldest: 200, latest: 250 });
    expect(nextRescanWindow(run, { oldest: 200, latest: 250 }, 100)).toBeNull();
  });

  it('extendsCoverage: only a window reaching the second before collectedFrom lowers it', () => {
    expect(extendsCoverage(1000, { oldest: 900, latest: 999 })).toBe(true);
    expect(extendsCoverage(1000, { oldest: 900, latest: 1500 })).toBe(true);
    expect(extendsCoverage(1000, { oldest: 900, latest: 998 })).toBe(false);
    expect(extendsCoverage(1000, { oldest: 1000, latest: 2000 })).toBe(false);
  });
});
