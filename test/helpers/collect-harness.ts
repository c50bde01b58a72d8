import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Config } from '../../src/config/schema.js';
import { bullPrefix, deleteKeysMatching } from '../../src/queue/connection.js';
import { QUEUES, ingestJobEntries, type IngestJob, type IngestJobV1 } from '../../src/queue/jobs.js';
import { startSimulator, type SimHandle } from '../../src/sim/server.js';
import type { SimOptions } from '../../src/sim/state.js';
import { REDIS_URL, testConfig } from './env.js';

/** Shared plumbing of the collector integration tests: a simulator, an isolated config, and ways to look. */

export interface CollectFixture {
  sim: SimHandle;
  config: Config;
  redis: Redis;
  ingest: Queue;
  cleanup(): Promise<void>;
}

export const SIM_TOKEN = 'xoxp-collect-test-token-123456';

export async function collectFixture(sim: SimOptions, source: Record<string, unknown> = {}, collector: Record<string, unknown> = {}, extraSources: Record<string, unknown>[] = []): Promise<CollectFixture> {
  const handle = await startSimulator({ seed: 7, token: SIM_TOKEN, attackStory: false, liveRatePerSecond: 0, ...sim });
  const config = testConfig(
    {
      sources: [
        {
          id: 'acme',
          token: SIM_TOKEN,
          apiUrl: handle.auditUrl,
          pollIntervalSeconds: 1,
          latenessSeconds: 30,
          settleSeconds: 1,
          lookbackHours: 1,
          pageLimit: 25,
          rateBudgetPerMinute: 50,
          maxWindowSeconds: 7200,
          rescan: { enabled: false },
          ...source,
        },
        ...extraSources,
      ],
      collector: { lockTtlMs: 3000, retryBaseMs: 50, retryMaxMs: 400, httpTimeoutMs: 3000, maxQueuedJobs: 100_000, ...collector },
    },
    'collect',
  );
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const ingest = new Queue(QUEUES.ingest, { connection: redis, prefix: bullPrefix(config) });
  return {
    sim: handle,
    config,
    redis,
    ingest,
    async cleanup() {
      await ingest.close();
      await handle.close();
      await deleteKeysMatching(redis, `${config.redis.prefix}*`);
      await redis.quit();
    },
  };
}

/** Every ingest job (any state), as the indexer would receive them, entries parsed (v2 jobs carry texts). */
export async function ingestJobs(ingest: Queue): Promise<IngestJobV1[]> {
  const jobs = await ingest.getJobs(['wait', 'prioritized', 'delayed', 'active', 'completed', 'failed'], 0, -1);
  return jobs.map((j) => {
    const data = j.data as IngestJob;
    return { ...data, v: 1, entries: ingestJobEntries(data) as IngestJobV1['entries'] };
  });
}

export async function collectedIds(ingest: Queue): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const job of await ingestJobs(ingest)) for (const e of job.entries) out.set(e.id as string, (out.get(e.id as string) ?? 0) + 1);
  return out;
}

export async function simEntries(sim: SimHandle): Promise<Array<{ id: string; date_create: number }>> {
  const res = await fetch(`${sim.url}/_sim/events?full=1`);
  const body = (await res.json()) as { entries: Array<{ id: string; date_create: number }> };
  return body.entries;
}

export interface SimStatsView {
  requests: number;
  logsRequests: number;
  rateLimited: number;
  retryAfterIgnored: number;
  invalidCursor: number;
  authFailures: number;
}

export async function simStats(sim: SimHandle): Promise<SimStatsView> {
  const res = await fetch(`${sim.url}/_sim/stats`);
  return (await res.json()) as SimStatsView;
}

/** Unwrap a value a test knows is there (fails the test, with a message, when it is not). */
export function must<T>(v: T | null | undefined, what = 'value'): T {
  if (v === null || v === undefined) throw new Error(`expected ${what}`);
  return v;
}

export async function simControl(sim: SimHandle, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${sim.url}/_sim/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`sim control failed: ${res.status} ${await res.text()}`);
}

export async function simInject(sim: SimHandle, entries: Record<string, unknown>[]): Promise<void> {
  const res = await fetch(`${sim.url}/_sim/inject`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entries }) });
  if (!res.ok) throw new Error(`sim inject failed: ${res.status} ${await res.text()}`);
}

export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function entry(id: string, date: number, action = 'user_login'): Record<string, unknown> {
  return { id, date_create: date, action, actor: { type: 'user', user: { id: 'W0TEST', name: 'tester', email: 't@example.com', team: 'E0TEST' } }, entity: { type: 'user', user: { id: 'W0TEST' } }, context: { ip_address: '192.0.2.1', ua: 'test', session_id: 1 } };
}
