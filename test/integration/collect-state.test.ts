import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Config } from '../../src/config/schema.js';
import { readCoverage, readSourceState } from '../../src/collect/coverage.js';
import { RateBudget } from '../../src/collect/rate-budget.js';
import { SourceLock } from '../../src/collect/source-lock.js';
import { SourceStore } from '../../src/collect/source-store.js';
import { newRecord } from '../../src/collect/poll-source.js';
import { REDIS_URL, testConfig } from '../helpers/env.js';

let redis: Redis;
let config: Config;

beforeEach(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  config = testConfig({}, 'collect_state');
});

afterEach(async () => {
  const keys = await redis.keys(`${config.redis.prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const budget = (perMinute: number) => new RateBudget(redis, config, 'acme', { perMinute, lowPriorityReserveFraction: 0.25, requestTtlMs: 5000 });

describe('rate budget (Redis, shared by replicas)', () => {
  it('caps requests per rolling minute, keeps a reserve for live polling, one request in flight', async () => {
    const a = budget(4);
    const b = budget(4); // another replica
    for (let i = 0; i < 3; i++) {
      const r = await (i % 2 === 0 ? a : b).tryAcquire('low');
      expect(r.ok).toBe(true);
      if (r.ok) {
        // While a request is in flight, nobody else may send.
        expect(await b.tryAcquire('low')).toMatchObject({ ok: false, reason: 'busy' });
        await a.release(r.lease);
      }
    }
    // Low priority stops at 3 of 4: the last slot is live's.
    expect(await a.tryAcquire('low')).toMatchObject({ ok: false, reason: 'budget' });
    const live = await b.tryAcquire('live');
    expect(live.ok).toBe(true);
    if (live.ok) await b.release(live.lease);
    const over = await a.tryAcquire('live');
    expect(over).toMatchObject({ ok: false, reason: 'budget' });
    if (!over.ok) expect(over.waitMs).toBeGreaterThan(50_000);
    // A starved live request makes low priority yield.
    expect(await a.tryAcquire('low')).toMatchObject({ ok: false, reason: 'live-first' });
    expect(await a.used()).toBe(4);
    expect((await readSourceState(redis, config, 'acme')).rateBudgetUsed).toBe(4);
  });

  it('a 429 pause is honoured by every replica until Retry-After has passed', async () => {
    const a = budget(50);
    const b = budget(50);
    const until = await a.pause(1);
    const r = await b.tryAcquire('live');
    expect(r).toMatchObject({ ok: false, reason: 'paused' });
    if (!r.ok) expect(r.waitMs).toBeGreaterThan(1000);
    // A shorter pause never shortens a longer one.
    expect(await b.pause(0)).toBe(until);
    const controller = new AbortController();
    const t0 = Date.now();
    const lease = await b.acquire('live', controller.signal);
    expect(lease).not.toBeNull();
    expect(Date.now()).toBeGreaterThanOrEqual(until - 20);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect((await readSourceState(redis, config, 'acme')).pausedUntil).toBe(until);
  });
});

describe('source store', () => {
  it('the watermark only advances to a finished window latest, never backwards', async () => {
    const store = new SourceStore(redis, config, 'acme');
    const w1 = newRecord('acme', 'live', { oldest: 1000, latest: 2000 }, 0, Date.now());
    await store.createWindow(store.keys.liveWindow, w1);
    expect(await store.finishLive(w1, Date.now())).toBe(2000);
    expect(await store.loadWindow(store.keys.liveWindow)).toBeNull();
    const stale = newRecord('acme', 'live', { oldest: 900, latest: 1500 }, 0, Date.now());
    expect(await store.finishLive(stale, Date.now())).toBe(2000);
    const s = await readSourceState(redis, config, 'acme');
    expect(s.watermark).toBe(2000);
    expect(s.collectedFrom).toBe(1000);
  });

  it('backfill windows lower collectedFrom only when contiguous; islands show up as gaps', async () => {
    const store = new SourceStore(redis, config, 'acme');
    const live = newRecord('acme', 'live', { oldest: 10_000, latest: 20_000 }, 0, Date.now());
    await store.finishLive(live, Date.now());
    // Done out of order: the older window first (an island), then the one touching collectedFrom.
    const older = newRecord('acme', 'backfill', { oldest: 7000, latest: 7999 }, 0, Date.now());
    await store.finishBackfill(older, Date.now());
    expect((await readSourceState(redis, config, 'acme')).collectedFrom).toBe(10_000);
    let cov = await readCoverage(redis, config, 'acme');
    expect(cov).toMatchObject({ from: 7000, to: 20_000, gaps: [[8000, 9999]] });
    const touching = newRecord('acme', 'backfill', { oldest: 9000, latest: 9999 }, 0, Date.now());
    await store.finishBackfill(touching, Date.now());
    expect((await readSourceState(redis, config, 'acme')).collectedFrom).toBe(9000);
    cov = await readCoverage(redis, config, 'acme');
    expect(cov.gaps).toEqual([[8000, 8999]]);
    const middle = newRecord('acme', 'backfill', { oldest: 8000, latest: 8999 }, 0, Date.now());
    await store.finishBackfill(middle, Date.now());
    // The island is now connected too: collectedFrom drops through both windows.
    expect((await readSourceState(redis, config, 'acme')).collectedFrom).toBe(7000);
    cov = await readCoverage(redis, config, 'acme');
    expect(cov).toMatchObject({ from: 7000, to: 20_000, gaps: [] });
  });

  it('a window lock admits one holder and frees on release', async () => {
    const key = `${config.redis.prefix}:lock-test`;
    const a = await SourceLock.acquire(redis, key, 2000);
    expect(a).not.toBeNull();
    expect(await SourceLock.acquire(redis, key, 2000)).toBeNull();
    await a?.release();
    const b = await SourceLock.acquire(redis, key, 2000);
    expect(b).not.toBeNull();
    await b?.release();
  });
});
