import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Client } from '@elastic/elasticsearch';
import { createRedis, bullPrefix } from '../../src/queue/connection.js';
import { createEsClient } from '../../src/sink/es-client.js';
import { QUEUES } from '../../src/queue/jobs.js';
import { registry } from '../../src/observe/metrics.js';
import { readinessChecks, startOpsServer, type OpsServer } from '../../src/observe/http.js';
import { queueStats, startQueueGauges } from '../../src/observe/queue-stats.js';
import { createLogger } from '../../src/observe/logger.js';
import { testConfig } from '../helpers/env.js';

const log = createLogger({ level: 'silent' });
const config = testConfig({}, 'ops');

describe('ops server against real Redis and Elasticsearch', () => {
  let redis: Redis;
  let es: Client;
  let server: OpsServer;
  let queue: Queue;

  beforeAll(async () => {
    redis = createRedis(config, 'command');
    es = createEsClient(config);
    queue = new Queue(QUEUES.ingest, { connection: redis, prefix: bullPrefix(config) });
    await queue.add('ingest', { v: 1 }, { jobId: 'ops-test-1' });
    await queue.add('ingest', { v: 1 }, { jobId: 'ops-test-2', delay: 3_600_000 });
    server = await startOpsServer({ host: config.metrics.host, port: 0, registry, ready: readinessChecks({ redis, es, configLoaded: true }), log });
  });

  afterAll(async () => {
    await server.close();
    await queue.obliterate({ force: true });
    await queue.close();
    redis.disconnect();
    await es.close();
  });

  it('binds to loopback by default', () => {
    expect(config.metrics.host).toBe('127.0.0.1');
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('/healthz answers 200', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('/readyz is 200 with every check ok when Redis and ES answer', async () => {
    const res = await fetch(`${server.url}/readyz`);
    const body = (await res.json()) as { ok: boolean; checks: Record<string, { ok: boolean }> };
    expect(res.status).toBe(200);
    expect(body.ok).toBe(true);
    expect(body.checks).toEqual({ config: { ok: true }, redis: { ok: true }, elasticsearch: { ok: true } });
  });

  it('/readyz is 503 naming the failing dependency when Redis is unreachable', async () => {
    const dead = createRedis({ redis: { url: 'redis://127.0.0.1:1', prefix: 'x' } }, 'command', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    dead.on('error', () => undefined);
    const other = await startOpsServer({ host: '127.0.0.1', port: 0, registry, ready: readinessChecks({ redis: dead, es, configLoaded: true, timeoutMs: 1_000 }), log });
    try {
      const res = await fetch(`${other.url}/readyz`);
      const body = (await res.json()) as { ok: boolean; checks: Record<string, { ok: boolean; error?: string }> };
      expect(res.status).toBe(503);
      expect(body.ok).toBe(false);
      expect(body.checks.redis?.ok).toBe(false);
      expect(body.checks.redis?.error).toBeTruthy();
      expect(body.checks.elasticsearch?.ok).toBe(true);
    } finally {
      await other.close();
      dead.disconnect();
    }
  });

  it('/readyz is 503 when Elasticsearch is unreachable or config not loaded', async () => {
    const deadEs = createEsClient({ elasticsearch: { ...config.elasticsearch, url: 'http://127.0.0.1:1' } });
    const ready = readinessChecks({ redis, es: deadEs, configLoaded: false, timeoutMs: 1_000 });
    const r = await ready();
    expect(r.ok).toBe(false);
    expect(r.checks.elasticsearch?.ok).toBe(false);
    expect(r.checks.config).toEqual({ ok: false, error: 'config not loaded' });
    expect(r.checks.redis?.ok).toBe(true);
    await deadEs.close();
  });

  it('/metrics serves prom-client text including live queue depths', async () => {
    const stats = await queueStats(config, redis);
    expect(stats.ingest).toMatchObject({ waiting: 1, delayed: 1, active: 0, failed: 0 });
    expect(stats.poll).toEqual({ waiting: 0, active: 0, failed: 0, delayed: 0, completed: 0 });

    const gauges = startQueueGauges(config, redis, { intervalMs: 60_000, log });
    await gauges.refresh();
    gauges.stop();
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('# TYPE slack_audit_events_indexed_total counter');
    expect(text).toMatch(/slack_audit_queue_depth\{queue="ingest",state="waiting"\} 1\b/);
    expect(text).toMatch(/slack_audit_queue_depth\{queue="ingest",state="delayed"\} 1\b/);
    expect(text).toContain('slack_audit_process_');
  });

  it('unknown paths are 404 and non-GET methods are 405', async () => {
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
