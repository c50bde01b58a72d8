import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observe/logger.js';
import { readCoverage, readSourceState } from '../../src/collect/coverage.js';
import { runBackfill } from '../../src/commands/backfill.js';
import { startScheduler } from '../../workers/scheduler.js';
import { must, collectFixture, collectedIds, ingestJobs, simEntries, simStats, waitFor, type CollectFixture } from '../helpers/collect-harness.js';

const log = createLogger({ level: 'silent', pretty: false });
let fx: CollectFixture | undefined;
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await fx?.cleanup();
  fx = undefined;
});

describe('backfill', () => {
  it('collects history before live coverage at low priority, lowers collectedFrom, and is idempotent', async () => {
    // 12 h of history; live polling only looks back 1 h.
    fx = await collectFixture({ historicalEvents: 400, historyHours: 12, sameSecondBurstSize: 1, faults: { retryAfterSeconds: 1 } }, { pageLimit: 50, lookbackHours: 1 });
    const f = fx;
    const s = await startScheduler(fx.config, log);
    closers.push(() => s.close());
    const startedAt = Math.floor(Date.now() / 1000);
    const live = await waitFor('first live window', async () => {
      const st = await readSourceState(f.redis, f.config, 'acme');
      return st.watermark !== null ? st : null;
    });
    const collectedFrom = must(live.collectedFrom, 'collectedFrom');
    const olderThanLive = (await simEntries(fx.sim)).filter((e) => e.date_create < collectedFrom);
    expect(olderThanLive.length).toBeGreaterThan(100);
    expect((await collectedIds(fx.ingest)).has(must(olderThanLive[0]).id)).toBe(false);

    const since = new Date((startedAt - 13 * 3600) * 1000).toISOString();
    const summary = await runBackfill(fx.config, { since, wait: true, windowSeconds: 3 * 3600, progress: 'none', pollMs: 200 }, log);
    expect(summary.done).toBe(true);
    const windows = Math.ceil((collectedFrom - 1 - (startedAt - 13 * 3600) + 1) / (3 * 3600));
    expect(windows).toBeGreaterThanOrEqual(4);
    expect(summary.sources[0]?.windows).toBe(windows);
    const got = await collectedIds(fx.ingest);
    expect(olderThanLive.filter((e) => !got.has(e.id))).toEqual([]);
    const backfillJobs = (await ingestJobs(fx.ingest)).filter((j) => j.kind === 'backfill');
    expect(backfillJobs.length).toBeGreaterThan(0);

    const after = await readSourceState(fx.redis, fx.config, 'acme');
    expect(after.collectedFrom).toBe(startedAt - 13 * 3600);
    const cov = await readCoverage(fx.redis, fx.config, 'acme');
    expect(cov.from).toBe(startedAt - 13 * 3600);
    expect(cov.gaps).toEqual([]);
    // Live polling keeps going next to the backfill.
    await waitFor('live watermark moves on', async () => ((await readSourceState(f.redis, f.config, 'acme')).watermark ?? 0) > must(live.watermark), 10_000);

    // Running the same backfill again queues nothing and fetches nothing.
    const requests = (await simStats(fx.sim)).logsRequests;
    const again = await runBackfill(fx.config, { since, until: new Date((collectedFrom - 1) * 1000).toISOString(), wait: true, windowSeconds: 3 * 3600, progress: 'none', pollMs: 100 }, log);
    expect(again.done).toBe(true);
    expect(again.sources[0]?.alreadyDone).toBe(windows);
    expect(again.sources[0]?.queued).toBe(0);
    const extra = (await simStats(fx.sim)).logsRequests - requests;
    expect(extra).toBeLessThan(5); // only live ticks
  }, 90_000);
});
