import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { startSimulator } from '../../src/sim/server.js';
import { createEsClient } from '../../src/sink/es-client.js';
import { names } from '../../src/config/load.js';
import { ROOT, spawnCli, stopGracefully, waitFor, killHard, type Proc } from '../helpers/procs.js';
import { testConfig, REDIS_URL, ELASTICSEARCH_URL } from '../helpers/env.js';

type Sim = Awaited<ReturnType<typeof startSimulator>>;

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => {
        res(port);
      });
    });
    srv.on('error', rej);
  });
}

const AUDIT_TOKEN = 'xoxp-e2e-audit-SECRET-7f3a9c1d2e';
const ADMIN_TOKEN = 'xoxp-e2e-admin-SECRET-8b4c0d2e3f';
const config = testConfig({}, 'e2e');
const es = createEsClient(config);
const n = names(config);
const logDir = resolve(ROOT, '.services', 'e2e-logs', config.namespace);
let sim: Sim;
let proc: Proc;
let metricsPort: number;

beforeAll(async () => {
  sim = await startSimulator({ seed: 11, token: AUDIT_TOKEN, adminToken: ADMIN_TOKEN, historicalEvents: 1500, historyHours: 3, liveRatePerSecond: 5, sameSecondBurstSize: 30, attackStory: true, faults: { rate429: 0.05, retryAfterSeconds: 1, error5xxRate: 0.03 } });
  // An entry that carries our own token (someone pasted it into a channel name): it must be scrubbed before ES.
  await fetch(`${sim.url}/_sim/inject`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ entries: [{ id: 'aaaaaaaa-0000-4000-8000-00000000leak', date_create: Math.floor(Date.now() / 1000) - 60, action: 'channel_renamed', actor: { type: 'user', user: { id: 'W0LEAKER01', name: 'leaker', email: 'l@example.com' } }, entity: { type: 'channel', channel: { id: 'C0LEAK', name: `token ${AUDIT_TOKEN}`, privacy: 'public' } }, context: { location: { type: 'workspace', id: 'T1', name: 'w', domain: 'w' }, ua: 'x', ip_address: '192.0.2.1' } }] }),
  });
  metricsPort = await freePort();
  proc = spawnCli('all', ['run', '--role', 'all', '--metrics-port', String(metricsPort)], {
    REDIS_URL,
    ELASTICSEARCH_URL,
    SLACK_AUDIT_NAMESPACE: config.namespace,
    SLACK_AUDIT_TOKEN: AUDIT_TOKEN,
    SLACK_ADMIN_TOKEN: ADMIN_TOKEN,
    SLACK_AUDIT_API_URL: sim.auditUrl,
    SLACK_API_URL: sim.apiUrl,
    SLACK_AUDIT_POLL_INTERVAL: '2',
    SLACK_AUDIT_LATENESS_SECONDS: '30',
    SLACK_AUDIT_LOOKBACK_HOURS: '4',
    SLACK_AUDIT_RESPONSES: 'dry-run',
    SLACK_AUDIT_CONFIG: resolve(ROOT, 'test', 'fixtures', 'e2e.yaml'),
  }, logDir);
});

afterAll(async () => {
  if (proc.child.exitCode === null) await killHard(proc);
  await sim.close();
  await es.indices.delete({ index: `${n.eventsIndexPrefix}*,${n.alertsIndex},${n.actionsIndex},${n.dlqIndex}`, ignore_unavailable: true, allow_no_indices: true });
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${config.redis.prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await es.close();
});

async function simIds(): Promise<string[]> {
  return ((await (await fetch(`${sim.url}/_sim/events`)).json()) as { ids: string[] }).ids;
}

describe('run --role all against the simulator', () => {
  it('lands every simulator event in Elasticsearch exactly once, while serving metrics', async () => {
    let sawMetrics = false;
    // Let live traffic (with 429s and 5xx) run for a while, then stop it so that "everything" is a fixed set.
    await waitFor('live traffic to be collected', async () => {
      const count = await es.count({ index: n.eventsAlias, ignore_unavailable: true, allow_no_indices: true }).then((r) => r.count, () => 0);
      return count > 1500 ? true : undefined;
    }, 120_000, 2000);
    await fetch(`${sim.url}/_sim/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ liveRatePerSecond: 0 }) });
    await waitFor('all events indexed', async () => {
      if (!sawMetrics) {
        const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text(), () => '');
        const fetched = /slack_audit_events_fetched_total\{[^}]*\} (\d+)/.exec(text);
        const indexed = /slack_audit_events_indexed_total\{[^}]*\} (\d+)/.exec(text);
        if (fetched && indexed && Number(fetched[1]) > 0 && Number(indexed[1]) > 0 && /slack_audit_lag_seconds\{/.test(text)) sawMetrics = true;
      }
      const ids = await simIds();
      const count = await es.count({ index: n.eventsAlias, ignore_unavailable: true, allow_no_indices: true }).then((r) => r.count, () => 0);
      return count >= ids.length ? true : undefined;
    }, 150_000, 2000);
    expect(sawMetrics).toBe(true);
    const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
    expect(ready.status).toBe(200);

    await es.indices.refresh({ index: n.eventsAlias });
    const ids = await simIds();
    const res = await es.search({ index: n.eventsAlias, size: 10_000, _source: false, track_total_hits: true });
    const got = res.hits.hits.map((h) => h._id);
    expect(new Set(got).size).toBe(got.length); // no duplicates across monthly indices
    const missing = ids.filter((id) => !got.includes(id));
    expect(missing).toEqual([]);
  }, 200_000);

  it('never leaks a token: not in logs, ES documents, alerts, actions or the DLQ', async () => {
    const stats = (await (await fetch(`${sim.url}/_sim/stats`)).json()) as { retryAfterIgnored: number };
    expect(stats.retryAfterIgnored).toBe(0);
    const stopped = await stopGracefully(proc, 40_000);
    expect(stopped.code).toBe(0);
    const log = readFileSync(proc.logFile, 'utf8');
    expect(log.length).toBeGreaterThan(0);
    expect(log).not.toContain(AUDIT_TOKEN);
    expect(log).not.toContain(ADMIN_TOKEN);
    for (const index of [n.eventsAlias, n.alertsIndex, n.actionsIndex, n.dlqIndex]) {
      const found = await es.search({ index, size: 10_000, ignore_unavailable: true, allow_no_indices: true });
      const text = JSON.stringify(found.hits.hits);
      expect(text).not.toContain(AUDIT_TOKEN);
      expect(text).not.toContain(ADMIN_TOKEN);
    }
    const leak = await es.search({ index: n.eventsAlias, q: 'event.id:"aaaaaaaa-0000-4000-8000-00000000leak"' });
    expect(leak.hits.hits.length).toBe(1);
  }, 60_000);
});
