/**
 * `slack-audit status --json` as a user runs it: the built CLI as a real process against the real Redis and
 * ES, with seeded collector state, alerts and response actions. Needs `npm run build` first (npm test does it).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Client } from '@elastic/elasticsearch';
import type { estypes } from '@elastic/elasticsearch';
import { names } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createRedis, bullPrefix } from '../../src/queue/connection.js';
import { QUEUES } from '../../src/queue/jobs.js';
import { createEsClient } from '../../src/sink/es-client.js';
import { collectStatus, statusSchema, finishStatus, type Status } from '../../src/commands/status.js';
import { testConfig, REDIS_URL, ELASTICSEARCH_URL, pickSecurityEnv } from '../helpers/env.js';
import { CLI, ROOT } from '../helpers/procs.js';

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runStatus(config: Config, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'status', ...args],
      {
        cwd: ROOT,
        timeout: 60_000,
        env: {
          PATH: process.env.PATH ?? '',
          SLACK_AUDIT_CONFIG: '/dev/null',
          SLACK_AUDIT_NAMESPACE: config.namespace,
          SLACK_AUDIT_TOKEN: 'xoxp-status-test-token-000000',
          REDIS_URL,
          ELASTICSEARCH_URL,
          ...pickSecurityEnv(),
          SLACK_AUDIT_POLL_INTERVAL: '60',
          SLACK_AUDIT_LATENESS_SECONDS: '300',
          LOG_LEVEL: 'silent',
          ...env,
        },
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** testConfig gives a unique namespace; the CLI run uses the default Redis prefix with that namespace. */
function cliConfig(label: string): Config {
  const c = testConfig({}, label);
  return { ...c, redis: { ...c.redis, prefix: 'slack-audit' } };
}

const created: { indices: string[]; keys: string[]; queues: Queue[] } = { indices: [], keys: [], queues: [] };
let redis: Redis;
let es: Client;

async function seedSource(config: Config, fields: Record<string, string>): Promise<void> {
  const key = `${names(config).redisPrefix}:source:default`;
  created.keys.push(key);
  await redis.hset(key, fields);
}

async function createIndex(index: string, properties: Record<string, estypes.MappingProperty>): Promise<void> {
  created.indices.push(index);
  await es.indices.create({ index, mappings: { properties } });
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npx tsc -p tsconfig.build.json) first`);
  redis = createRedis({ redis: { url: REDIS_URL, prefix: 'x' } }, 'command');
  es = createEsClient(testConfig({}, 'status_es'));
});

afterAll(async () => {
  for (const q of created.queues) {
    await q.obliterate({ force: true });
    await q.close();
  }
  if (created.keys.length) await redis.del(...created.keys);
  if (created.indices.length) await es.indices.delete({ index: created.indices, ignore_unavailable: true });
  redis.disconnect();
  await es.close();
});

describe('slack-audit status --json (real CLI, real Redis + ES)', () => {
  it('reports a healthy pipeline with exit 0 and the documented shape', async () => {
    const config = cliConfig('status_ok');
    const n = names(config);
    const now = Math.floor(Date.now() / 1000);
    await seedSource(config, {
      watermark: String(now - 30),
      collectedFrom: String(now - 7 * 86400),
      lastSuccessAt: String(Date.now() - 5_000),
      newestEventAt: String(now - 120),
    });
    await createIndex(n.alertsIndex, { '@timestamp': { type: 'date' }, rule: { properties: { name: { type: 'keyword' } } }, event: { properties: { severity: { type: 'long' } } } });
    await createIndex(n.actionsIndex, { '@timestamp': { type: 'date' }, slack: { properties: { response: { properties: { outcome: { type: 'keyword' } } } } } });
    // The collector's rolling-minute request log (src/collect/keys.ts `rate`): 3 requests in the last minute, 1 older.
    const rateKey = `${n.redisPrefix}:source:default:rate`;
    created.keys.push(rateKey);
    await redis.zadd(rateKey, Date.now() - 5_000, 'a', Date.now() - 10_000, 'b', Date.now() - 20_000, 'c', Date.now() - 120_000, 'd');
    const iso = (agoS: number) => new Date(Date.now() - agoS * 1000).toISOString();
    await es.bulk({
      refresh: true,
      operations: [
        { index: { _index: n.alertsIndex } }, { '@timestamp': iso(60), rule: { name: 'session-hijack' }, event: { severity: 73 } },
        { index: { _index: n.alertsIndex } }, { '@timestamp': iso(3600), rule: { name: 'session-hijack' }, event: { severity: 73 } },
        { index: { _index: n.alertsIndex } }, { '@timestamp': iso(600), rule: { name: 'admin-burst' }, event: { severity: 47 } },
        // Older than 24 h: not counted.
        { index: { _index: n.alertsIndex } }, { '@timestamp': iso(2 * 86400), rule: { name: 'admin-burst' }, event: { severity: 47 } },
        { index: { _index: n.actionsIndex } }, { '@timestamp': iso(60), slack: { response: { outcome: 'success' } } },
        { index: { _index: n.actionsIndex } }, { '@timestamp': iso(50), slack: { response: { outcome: 'skipped' } } },
        { index: { _index: n.actionsIndex } }, { '@timestamp': iso(40), slack: { response: { outcome: 'skipped' } } },
      ],
    });

    const res = await runStatus(config, ['--json']);
    expect(res.stderr).not.toContain('error');
    const status = statusSchema.parse(JSON.parse(res.stdout));
    expect(res.code).toBe(0);
    expect(status.healthy).toBe(true);
    expect(status.attention).toEqual([]);
    expect(status.namespace).toBe(config.namespace);
    expect(status.sources).toHaveLength(1);
    const src = status.sources[0];
    expect(src?.id).toBe('default');
    expect(src?.watermark).toEqual({ unix: now - 30, iso: new Date((now - 30) * 1000).toISOString() });
    expect(src?.lagSeconds).toBeGreaterThanOrEqual(120);
    expect(src?.lagSeconds).toBeLessThan(200);
    expect(src?.staleAfterSeconds).toBe(3 * 60 + 300 + 5);
    expect(src?.coverage).toEqual({ from: new Date((now - 7 * 86400) * 1000).toISOString(), to: new Date((now - 30) * 1000).toISOString(), seconds: 7 * 86400 - 30, gaps: [], pendingIngestJobs: 0 });
    expect(src?.rateBudget).toEqual({ usedLastMinute: 3, perMinute: 20 });
    expect(src?.pausedUntil).toBeNull();
    expect(src?.lastError).toBeNull();
    expect(src?.fatal).toBeNull();
    expect(Object.keys(status.queues ?? {}).sort()).toEqual(Object.values(QUEUES).sort());
    expect(status.dlq).toEqual({ index: n.dlqIndex, count: 0 });
    expect(status.alerts).toEqual({ index: n.alertsIndex, last24h: 3, byRule: { 'session-hijack': 2, 'admin-burst': 1 }, bySeverity: { '73': 2, '47': 1 } });
    expect(status.responses).toEqual({ index: n.actionsIndex, last24h: 3, byOutcome: { skipped: 2, success: 1 } });
    expect(status.elasticsearch).toMatchObject({ ok: true });
    expect(status.redis).toMatchObject({ ok: true, maxmemoryPolicy: 'noeviction' });
  });

  it('the human table shows the source, queues and verdict', async () => {
    const config = cliConfig('status_table');
    const now = Math.floor(Date.now() / 1000);
    await seedSource(config, { watermark: String(now - 10), collectedFrom: String(now - 3600), lastSuccessAt: String(Date.now()), newestEventAt: String(now - 10) });
    const res = await runStatus(config, []);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('HEALTHY');
    expect(res.stdout).toMatch(/^default\s+\S+Z \(\d+\)/m);
    expect(res.stdout).toMatch(/^ingest\s+0\s+0\s+0\s+0$/m);
  });

  it('exits 2 and says why: fatal source, failed jobs, non-empty DLQ', async () => {
    const config = cliConfig('status_bad');
    const n = names(config);
    const now = Math.floor(Date.now() / 1000);
    await seedSource(config, {
      watermark: String(now - 60),
      collectedFrom: String(now - 3600),
      lastSuccessAt: String(Date.now() - 60_000),
      newestEventAt: String(now - 60),
      lastError: JSON.stringify({ code: 'SLACK_AUDIT_SLACK_FATAL', message: 'invalid_authentication', at: Date.now() }),
      fatal: JSON.stringify({ code: 'SLACK_AUDIT_SLACK_FATAL', message: 'invalid_authentication', at: Date.now() }),
    });
    const queue = new Queue(QUEUES.ingest, { connection: redis, prefix: bullPrefix(config) });
    created.queues.push(queue);
    await queue.add('ingest', { v: 1 }, { attempts: 1 });
    const workerRedis = createRedis(config, 'worker');
    const worker = new Worker(QUEUES.ingest, () => Promise.reject(new Error('boom')), { connection: workerRedis, prefix: bullPrefix(config) });
    await new Promise<void>((resolve) => worker.once('failed', () => { resolve(); }));
    await worker.close();
    workerRedis.disconnect();
    await createIndex(n.dlqIndex, { '@timestamp': { type: 'date' } });
    await es.index({ index: n.dlqIndex, document: { '@timestamp': new Date().toISOString() }, refresh: true });

    const res = await runStatus(config, ['--json']);
    const status = statusSchema.parse(JSON.parse(res.stdout));
    expect(res.code).toBe(2);
    expect(status.healthy).toBe(false);
    expect(status.exitCode).toBe(2);
    expect(status.sources[0]?.fatal).toMatchObject({ code: 'SLACK_AUDIT_SLACK_FATAL', message: 'invalid_authentication' });
    expect(status.queues?.ingest?.failed).toBe(1);
    expect(status.dlq.count).toBe(1);
    const checks = status.attention.filter((a) => a.severity === 'error').map((a) => a.check).sort();
    expect(checks).toEqual(['dlq', 'queue:ingest', 'source:default']);
    // The last error is not repeated as a warning when the source is fatal.
    expect(status.attention.filter((a) => a.severity === 'warning')).toEqual([]);
  });

  it('exits 2 with a stale watermark and with no collection state at all', async () => {
    const stale = cliConfig('status_stale');
    await seedSource(stale, { watermark: String(Math.floor(Date.now() / 1000) - 3600), lastSuccessAt: String(Date.now() - 3_600_000) });
    const r1 = await runStatus(stale, ['--json']);
    const s1 = statusSchema.parse(JSON.parse(r1.stdout));
    expect(r1.code).toBe(2);
    expect(s1.attention.map((a) => a.message).join('\n')).toMatch(/source default is behind: watermark is 36\d\ds old \(limit 485s\)/);

    const fresh = cliConfig('status_none');
    const r2 = await runStatus(fresh, ['--json']);
    const s2 = statusSchema.parse(JSON.parse(r2.stdout));
    expect(r2.code).toBe(2);
    expect(s2.sources[0]?.watermark).toBeNull();
    expect(s2.attention.map((a) => a.message).join('\n')).toContain('no collection state yet');
  });

  it('still answers (valid JSON, exit 2) when Elasticsearch is down', async () => {
    const config = cliConfig('status_esdown');
    const now = Math.floor(Date.now() / 1000);
    await seedSource(config, { watermark: String(now - 5), lastSuccessAt: String(Date.now()) });
    const res = await runStatus(config, ['--json'], { ELASTICSEARCH_URL: 'http://127.0.0.1:1' });
    const status = statusSchema.parse(JSON.parse(res.stdout));
    expect(res.code).toBe(2);
    expect(status.elasticsearch.ok).toBe(false);
    expect(status.dlq.count).toBeNull();
    expect(status.attention.map((a) => a.check)).toEqual(['elasticsearch']);
  });

  it('a fatal record the collector cannot parse still counts as fatal (in-process collectStatus)', async () => {
    const base = cliConfig('status_oddfatal');
    const config: Config = { ...base, sources: testConfig({ sources: [{ id: 'default' }] }).sources };
    const now = Math.floor(Date.now() / 1000);
    await seedSource(config, { watermark: String(now - 5), lastSuccessAt: String(Date.now()), fatal: 'invalid_authentication (token revoked)' });
    const status = await collectStatus({ config, redis, es });
    expect(statusSchema.parse(status).exitCode).toBe(2);
    expect(status.sources[0]?.fatal).toEqual({ code: null, message: 'invalid_authentication (token revoked)', at: null });
    expect(status.attention.map((a) => a.check)).toContain('source:default');
  });

  it('still answers when Redis is down', async () => {
    const config = cliConfig('status_redisdown');
    const res = await runStatus(config, ['--json'], { REDIS_URL: 'redis://127.0.0.1:1' });
    const status = statusSchema.parse(JSON.parse(res.stdout));
    expect(res.code).toBe(2);
    expect(status.redis.ok).toBe(false);
    expect(status.queues).toBeNull();
    expect(status.attention.map((a) => a.check)).toEqual(['redis']);
  });
});

describe('status attention rules (pure)', () => {
  const base = (): Omit<Status, 'healthy' | 'exitCode' | 'attention'> => ({
    v: 1,
    generatedAt: new Date().toISOString(),
    namespace: 'x',
    sources: [],
    queues: { ingest: { waiting: 5, active: 1, failed: 0, delayed: 0 } },
    dlq: { index: 'd', count: 0 },
    alerts: { index: 'a', last24h: 0, byRule: {}, bySeverity: {} },
    responses: { index: 'r', last24h: 0, byOutcome: {} },
    elasticsearch: { ok: true, status: 'yellow' },
    redis: { ok: true, maxmemoryPolicy: 'noeviction', aofEnabled: true },
  });

  it('yellow ES and waiting jobs are healthy; red ES is not; allkeys-lru Redis is a warning only', () => {
    expect(finishStatus(base()).exitCode).toBe(0);
    expect(finishStatus({ ...base(), elasticsearch: { ok: true, status: 'red' } }).exitCode).toBe(2);
    const lru = finishStatus({ ...base(), redis: { ok: true, maxmemoryPolicy: 'allkeys-lru', aofEnabled: false } });
    expect(lru.exitCode).toBe(0);
    expect(lru.attention).toEqual([expect.objectContaining({ severity: 'warning', check: 'redis' })]);
  });
});
