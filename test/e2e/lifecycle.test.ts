import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { QUEUES } from '../../src/queue/jobs.js';
import { bullPrefix } from '../../src/queue/connection.js';
import { enqueueActions } from '../../src/respond/worker.js';
import { actionKey, type ActionJobV1 } from '../../src/respond/types.js';
import { ROOT, spawnCli, waitFor, killHard, type Proc } from '../helpers/procs.js';
import { testConfig, REDIS_URL, ELASTICSEARCH_URL, pickSecurityEnv } from '../helpers/env.js';
import { createEsClient } from '../../src/sink/es-client.js';
import { names } from '../../src/config/load.js';

// The spawned CLI runs with the default Redis prefix and this test's namespace.
const config = testConfig({ redis: { prefix: 'slack-audit' } }, 'life');
const logDir = resolve(ROOT, '.services', 'e2e-logs', config.namespace);
const env = { REDIS_URL, ELASTICSEARCH_URL, ...pickSecurityEnv(), SLACK_AUDIT_NAMESPACE: config.namespace, SLACK_AUDIT_CONFIG: '/dev/null', SLACK_AUDIT_METRICS_PORT: '0' };
const procs: Proc[] = [];

afterAll(async () => {
  for (const p of procs) await killHard(p);
  const es = createEsClient(config);
  const n = names(config);
  await es.indices.delete({ index: `${n.eventsIndexPrefix}*,${n.alertsIndex},${n.actionsIndex},${n.dlqIndex}`, ignore_unavailable: true, allow_no_indices: true });
  await es.close();
  const redis = new Redis(REDIS_URL);
  const keys = [...(await redis.keys(`${names(config).redisPrefix}:*`)), ...(await redis.keys(`${bullPrefix(config)}:*`))];
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

async function started(name: string): Promise<Proc> {
  const p = spawnCli(name, ['run', '--role', 'indexer', '--role', 'rules'], env, logDir);
  procs.push(p);
  await waitFor('roles started', () => Promise.resolve(readFileSync(p.logFile, 'utf8').split('role started').length > 2 ? true : undefined), 60_000, 200);
  return p;
}

describe('process lifecycle', () => {
  it('SIGTERM drains and exits 0', async () => {
    const p = await started('term-once');
    p.child.kill('SIGTERM');
    const res = await p.exited;
    expect(res.code).toBe(0);
    expect(readFileSync(p.logFile, 'utf8')).toContain('draining in-flight jobs');
  }, 90_000);

  it('a second SIGTERM exits at once (code 130) while a job is still draining, and the job is not lost', async () => {
    // A webhook that never answers keeps an action job in flight, so the first SIGTERM's drain cannot finish.
    const hits: string[] = [];
    const hang = createServer((req) => {
      hits.push(req.url ?? '');
    });
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const port = (hang.address() as AddressInfo).port;
    const p = await started('term-twice');
    const redis = new Redis(REDIS_URL);
    const queue = new Queue(QUEUES.actions, { connection: redis, prefix: bullPrefix(config) });
    const alertId = 'lifecycle-alert';
    const job: ActionJobV1 = {
      v: 1,
      key: actionKey(alertId, 0, 'webhook'),
      alertId,
      actionIndex: 0,
      action: { type: 'webhook', url: `http://127.0.0.1:${port}/hook` },
      rule: { id: 'lifecycle', name: 'lifecycle', severity: 'low', reference: 'test' },
      alert: { firstSeen: new Date().toISOString(), lastSeen: new Date().toISOString(), count: 1, groupKey: 'g', eventIds: ['e1'] },
    };
    await enqueueActions(queue, config, [job]);
    await waitFor('the webhook call in flight', () => Promise.resolve(hits.length > 0 ? true : undefined), 30_000, 100);
    p.child.kill('SIGTERM');
    await waitFor('the drain to start', () => Promise.resolve(readFileSync(p.logFile, 'utf8').includes('draining in-flight jobs') ? true : undefined), 10_000, 50);
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    const res = await p.exited;
    expect(res.code).toBe(130);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(readFileSync(p.logFile, 'utf8')).toContain('second signal: exiting now');
    // The interrupted job is still in Redis (active until its lock expires, then retried): nothing is lost.
    const state = await queue.getJobState(job.key);
    expect(['active', 'waiting', 'delayed', 'prioritized']).toContain(state);
    await queue.obliterate({ force: true });
    await queue.close();
    redis.disconnect();
    hang.closeAllConnections();
    hang.close();
  }, 90_000);
});
