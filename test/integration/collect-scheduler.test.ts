import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from 'bullmq';
import { createLogger } from '../../src/observe/logger.js';
import { bullPrefix } from '../../src/queue/connection.js';
import { QUEUES, ingestJobEntries, type IngestJob } from '../../src/queue/jobs.js';
import { readCoverage, readSourceState } from '../../src/collect/coverage.js';
import { collectKeys } from '../../src/collect/keys.js';
import { AuditLogsClient } from '../../src/slack/audit-client.js';
import type { LogsFetcher, LogsQuery } from '../../src/collect/types.js';
import { startScheduler } from '../../workers/scheduler.js';
import { must, collectFixture, collectedIds, entry, ingestJobs, simControl, simEntries, simInject, simStats, waitFor, SIM_TOKEN, type CollectFixture } from '../helpers/collect-harness.js';

const log = createLogger({ level: 'silent', pretty: false });
let fx: CollectFixture | undefined;
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await fx?.cleanup();
  fx = undefined;
});

async function scheduler(f: CollectFixture, record?: LogsQuery[]): Promise<{ close(): Promise<void> }> {
  const s = await startScheduler(f.config, log, {
    createFetcher: (source, config) => {
      const client = new AuditLogsClient({ baseUrl: source.apiUrl, token: source.token ?? '', sourceId: source.id, timeoutMs: config.collector.httpTimeoutMs });
      const fetcher: LogsFetcher = {
        fetchPage: (q, signal) => {
          record?.push({ ...q });
          return client.fetchPage(q, signal);
        },
        close: () => client.close(),
      };
      return fetcher;
    },
  });
  closers.push(() => s.close());
  return s;
}

/** Wait until the live watermark has passed `second` (every event up to it is queued). */
async function watermarkPast(f: CollectFixture, second: number, timeoutMs = 40_000): Promise<number> {
  return waitFor(`watermark >= ${second}`, async () => {
    const s = await readSourceState(f.redis, f.config, 'acme');
    return s.watermark !== null && s.watermark >= second ? s.watermark : null;
  }, timeoutMs);
}

async function expectAllCollected(f: CollectFixture, upTo: number): Promise<void> {
  const want = (await simEntries(f.sim)).filter((e) => e.date_create <= upTo);
  const got = await collectedIds(f.ingest);
  const missing = want.filter((e) => !got.has(e.id));
  expect(missing, `missing ${missing.length} of ${want.length}`).toEqual([]);
}

describe('collector against the simulator', () => {
  it('reads history with same-second bursts straddling page boundaries: nothing lost, state recorded', async () => {
    fx = await collectFixture({ historicalEvents: 500, historyHours: 0.5, sameSecondBurstSize: 60 }, { pageLimit: 25 });
    const entries = await simEntries(fx.sim);
    const perSecond = new Map<number, number>();
    for (const e of entries) perSecond.set(e.date_create, (perSecond.get(e.date_create) ?? 0) + 1);
    // The fixture must really have same-second runs longer than a page, or this test proves nothing.
    expect(Math.max(...perSecond.values())).toBeGreaterThan(25);
    const startedAt = Math.floor(Date.now() / 1000);
    const requests: LogsQuery[] = [];
    await scheduler(fx, requests);
    const w = await watermarkPast(fx, startedAt - 2);
    await expectAllCollected(fx, w);
    // Every page resent oldest AND latest with the cursor (§1.4), and pages were fetched with the configured limit.
    const paged = requests.filter((q) => q.cursor !== undefined);
    expect(paged.length).toBeGreaterThan(10);
    for (const q of requests) {
      expect(q.oldest).toBeTypeOf('number');
      expect(q.latest).toBeTypeOf('number');
      expect(q.limit).toBe(25);
    }
    const state = await readSourceState(fx.redis, fx.config, 'acme');
    expect(state.collectedFrom).toBeLessThanOrEqual(startedAt - 3600 + 5);
    expect(state.newestEventAt).toBe(Math.max(...entries.map((e) => e.date_create)));
    expect(state.lastSuccessAt).toBeGreaterThan(Date.now() - 60_000);
    expect(state.fatal).toBeNull();
    const cov = await readCoverage(fx.redis, fx.config, 'acme');
    expect(cov.from).toBe(state.collectedFrom);
    expect(cov.to).toBe(state.watermark);
    expect(cov.gaps).toEqual([]);
    expect(cov.pendingIngestJobs).toBeGreaterThan(0); // no indexer runs in this test
    // Jobs are typed and versioned, with deterministic ids derived from the window/page/chunk.
    const jobs = await ingestJobs(fx.ingest);
    expect(jobs.every((j) => j.sourceId === 'acme' && j.kind === 'live' && /^live:\d+-\d+$/.test(j.windowId))).toBe(true);
  });

  it('late events within lateness are caught by the next window; later ones by the re-scan', async () => {
    fx = await collectFixture({ historicalEvents: 50, historyHours: 0.2 }, { latenessSeconds: 20, rescan: { enabled: true, everyMinutes: 1, lookbackHours: 1 } });
    const f = fx;
    await scheduler(fx);
    const w1 = await watermarkPast(fx, Math.floor(Date.now() / 1000) - 2);
    // Arrives now, dated 10 s before the watermark: within lateness.
    await simInject(fx.sim, [entry('late-within', w1 - 10)]);
    // Arrives now, dated 300 s before the watermark: beyond lateness, only a re-scan can see it.
    await simInject(fx.sim, [entry('late-beyond', w1 - 300)]);
    await waitFor('late-within collected', async () => (await collectedIds(f.ingest)).has('late-within'));
    await watermarkPast(fx, w1 + 3);
    expect((await collectedIds(fx.ingest)).has('late-beyond')).toBe(false);
    // Pretend an hour passed since the last re-scan.
    await fx.redis.hset(collectKeys(fx.config, 'acme').source, 'lastRescanAt', '1');
    await waitFor('late-beyond collected by the re-scan', async () => (await collectedIds(f.ingest)).has('late-beyond'));
    const rescanJobs = (await ingestJobs(fx.ingest)).filter((j) => j.entries.some((e) => e.id === 'late-beyond'));
    expect(rescanJobs.map((j) => j.kind)).toContain('rescan');
    await waitFor('re-scan finished', async () => ((await readSourceState(f.redis, f.config, 'acme')).lastRescanAt ?? 0) > 1);
  });

  it('invalid_cursor mid-window restarts the window and loses nothing', async () => {
    fx = await collectFixture({ historicalEvents: 600, historyHours: 0.5, sameSecondBurstSize: 30, faults: { slowMs: 120 } }, { pageLimit: 20 });
    const f = fx;
    const startedAt = Math.floor(Date.now() / 1000);
    await scheduler(fx);
    const keys = collectKeys(fx.config, 'acme');
    await waitFor('mid-window', async () => Number((await f.redis.hget(keys.liveWindow, 'page')) ?? 0) >= 3);
    await simControl(fx.sim, { faults: { cursorTtlSeconds: 0.001 } });
    await waitFor('an invalid_cursor', async () => (await simStats(f.sim)).invalidCursor >= 1);
    await simControl(fx.sim, { faults: { cursorTtlSeconds: 0 } });
    const w = await watermarkPast(fx, startedAt - 2);
    await expectAllCollected(fx, w);
    expect((await simStats(fx.sim)).invalidCursor).toBeGreaterThanOrEqual(1);
  });

  it('429 storms across two replicas: Retry-After is never ignored and nothing is lost', async () => {
    fx = await collectFixture({ historicalEvents: 400, historyHours: 0.5, faults: { rate429: 0.15, retryAfterSeconds: 1, slowMs: 20 } }, { pageLimit: 20 });
    const f = fx;
    const startedAt = Math.floor(Date.now() / 1000);
    await scheduler(fx);
    await scheduler(fx);
    const keys = collectKeys(fx.config, 'acme');
    await waitFor('mid-window', async () => Number((await f.redis.hget(keys.liveWindow, 'page')) ?? 0) >= 2);
    await simControl(fx.sim, { stormSeconds: 2 });
    const w = await watermarkPast(fx, startedAt - 2, 50_000);
    await expectAllCollected(fx, w);
    const stats = await simStats(fx.sim);
    expect(stats.rateLimited).toBeGreaterThan(0);
    expect(stats.retryAfterIgnored).toBe(0);
  });

  it('two scheduler replicas poll one source without fetching anything twice', async () => {
    fx = await collectFixture({ historicalEvents: 400, historyHours: 0.5, faults: { slowMs: 30 } }, { pageLimit: 20 });
    const startedAt = Math.floor(Date.now() / 1000);
    const requests: LogsQuery[] = [];
    const a = await scheduler(fx, requests);
    const b = await scheduler(fx, requests);
    const w = await watermarkPast(fx, startedAt - 2);
    await expectAllCollected(fx, w);
    await new Promise((r) => setTimeout(r, 2500)); // a few more ticks on both replicas
    await Promise.all([a.close(), b.close()]);
    const keysOf = requests.map((q) => `${q.oldest}|${q.latest}|${q.cursor ?? ''}`);
    const dups = keysOf.filter((k, i) => keysOf.indexOf(k) !== i);
    expect(dups).toEqual([]);
    // Every request the simulator saw came through one of our two replicas, once.
    expect((await simStats(fx.sim)).logsRequests).toBe(requests.length);
    // Both replicas were alive and polling: the scheduler's jobs went to one worker at a time.
    expect(requests.length).toBeGreaterThan(15);
  });

  it('a fatal token error stops that source only, loudly and without a hot loop', async () => {
    fx = await collectFixture({ historicalEvents: 30, historyHours: 0.2 }, {}, {}, []);
    const f = fx;
    const good = must(fx.config.sources[0]);
    fx.config.sources.push({ ...good, id: 'broken', token: 'xoxp-wrong-token-000000' });
    const startedAt = Math.floor(Date.now() / 1000);
    await scheduler(fx);
    await watermarkPast(fx, startedAt - 2);
    const broken = await waitFor('fatal recorded', async () => {
      const s = await readSourceState(f.redis, f.config, 'broken');
      return s.fatal === null ? null : s;
    });
    expect(broken.fatal?.code).toBe('SLACK_AUDIT_SLACK_FATAL');
    expect(broken.watermark).toBeNull();
    const before = (await simStats(fx.sim)).authFailures;
    await new Promise((r) => setTimeout(r, 3000)); // 3 poll intervals
    expect((await simStats(fx.sim)).authFailures).toBe(before);
    // The good source keeps going.
    await watermarkPast(fx, Math.floor(Date.now() / 1000) - 3);
    expect(SIM_TOKEN).not.toBe('xoxp-wrong-token-000000');
  });

  it('backpressure: a full ingest queue pauses fetching without losing the window position', async () => {
    fx = await collectFixture({ historicalEvents: 300, historyHours: 0.5, sameSecondBurstSize: 1 }, { pageLimit: 20 }, { maxQueuedJobs: 3, jobMaxEntries: 10 });
    const f = fx;
    const startedAt = Math.floor(Date.now() / 1000);
    await scheduler(fx);
    await waitFor('queue filled', async () => (await f.ingest.getWaitingCount()) >= 4);
    await new Promise((r) => setTimeout(r, 1500));
    // One page (2 jobs of 10) may land on top of the bound, never more.
    const waiting = await fx.ingest.getWaitingCount();
    expect(waiting).toBeLessThanOrEqual(3 + 2);
    expect((await readSourceState(fx.redis, fx.config, 'acme')).watermark).toBeNull();
    // A consumer drains the queue: collection resumes where it stopped and completes.
    const seen = new Set<string>();
    const consumer = new Worker(QUEUES.ingest, (job) => {
      for (const e of ingestJobEntries(job.data as IngestJob) as Array<{ id: string }>) seen.add(e.id);
      return Promise.resolve();
    }, { connection: fx.redis.duplicate(), prefix: bullPrefix(fx.config), concurrency: 4 });
    closers.push(() => consumer.close());
    const w = await watermarkPast(fx, startedAt - 2);
    await waitFor('consumer drained', async () => (await f.ingest.getWaitingCount()) === 0);
    const want = (await simEntries(fx.sim)).filter((e) => e.date_create <= w);
    expect(want.filter((e) => !seen.has(e.id))).toEqual([]);
  });
});
