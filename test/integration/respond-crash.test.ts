import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { build } from 'rolldown';
import { afterAll, describe, expect, it } from 'vitest';
import { names } from '../../src/config/load.js';
import { createLogger } from '../../src/observe/logger.js';
import { QUEUES } from '../../src/queue/jobs.js';
import { bullPrefix, createRedis, deleteKeysMatching } from '../../src/queue/connection.js';
import { actionKey, type ActionJobV1 } from '../../src/respond/types.js';
import { actionJobOptions } from '../../src/respond/worker.js';
import { createEsClient } from '../../src/sink/es-client.js';
import { installTemplates } from '../../src/sink/templates.js';
import { ADMIN_ACTOR_ID, DEFAULT_SIM_ADMIN_TOKEN, DEFAULT_SIM_TOKEN, OWN_APP_ID, VICTIM_USER_ID, startSimulator, type AdminCall } from '../../src/sim/index.js';
import { startRulesWorker } from '../../workers/rules.js';
import { testConfig } from '../helpers/env.js';

/**
 * Chaos: the actions worker runs in a child process; a proxy in front of the simulator's admin API lets the
 * reset reach Slack (the simulator performs it and logs user_session_reset_by_admin), then kill -9s the child
 * before the response comes back, so the outcome is never recorded. The job returns (BullMQ stalled-job
 * recovery) to a fresh worker, which must find our reset in the audit log and NOT call Slack again.
 */
const ROOT = resolve(import.meta.dirname, '..', '..');
const log = createLogger({ level: 'silent' });
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const CHILD_ENTRY = `
import { loadConfig } from '${ROOT}/src/config/load.js';
import { createLogger } from '${ROOT}/src/observe/logger.js';
import { startRulesWorker } from '${ROOT}/workers/rules.js';
const config = loadConfig({ file: '/dev/null', env: {}, overrides: JSON.parse(process.env.SA_CRASH_OVERRIDES ?? '{}') });
await startRulesWorker(config, createLogger({ level: 'silent' }), { actionsOnly: true, lockDurationMs: 2000, stalledIntervalMs: 1000 });
process.send?.('ready');
`;

async function bundleChild(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const entry = join(dir, 'entry.ts');
  const out = join(dir, 'child.mjs');
  writeFileSync(entry, CHILD_ENTRY);
  await build({
    input: entry,
    platform: 'node',
    external: (id) => !id.startsWith('.') && !id.startsWith('/'),
    resolve: { extensionAlias: { '.js': ['.ts', '.js'] } },
    output: { file: out, format: 'esm' },
    logLevel: 'silent',
  });
  return out;
}

describe('crash after the Slack call, before the outcome is recorded', () => {
  it('the retry finds our reset in the audit log and does not reset again', async () => {
    const sim = await startSimulator({ port: 0, historicalEvents: 0, liveRatePerSecond: 0, attackStory: false, rateLimitPerMinute: 0 });
    cleanups.push(() => sim.close());
    const worker1: { child?: ChildProcess } = {};
    let killedAfterReset = false;

    // Proxy: forwards to the simulator; after a successful reset it kills the worker before answering.
    const proxy: Server = createServer((req, res) => {
      const target = new URL(req.url ?? '/', sim.url);
      const fwd = httpRequest(target, { method: req.method, headers: req.headers }, (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          if ((req.url ?? '').includes('admin.users.session.reset') && worker1.child?.pid !== undefined && !killedAfterReset) {
            killedAfterReset = true;
            worker1.child.kill('SIGKILL');
            res.destroy();
            return;
          }
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(Buffer.concat(chunks));
        });
      });
      req.pipe(fwd);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => proxy.close(() => { r(); })));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/api`;

    const overrides = {
      sources: [{ id: 'sim', apiUrl: sim.auditUrl, token: DEFAULT_SIM_TOKEN }],
      slackAdmin: { apiUrl: proxyUrl, token: DEFAULT_SIM_ADMIN_TOKEN, ownAppIds: [OWN_APP_ID], ownActorIds: [ADMIN_ACTOR_ID] },
      // A long grace: if reconciliation did not find the reset, the retry would wait instead of calling again.
      responses: { mode: 'enforce', reconcileGraceSeconds: 600 },
      rules: { includeDefaultPack: false },
    };
    const config = testConfig(overrides, 'crash');
    const n = names(config);
    const es = createEsClient(config);
    await installTemplates(es, config);
    const redis = createRedis(config, 'command');
    cleanups.push(async () => {
      await es.indices.delete({ index: [n.alertsIndex, n.actionsIndex].join(','), ignore_unavailable: true });
      await es.close();
      await deleteKeysMatching(redis, `${config.redis.prefix}*`);
      redis.disconnect();
    });

    const dir = join(ROOT, 'node_modules', '.cache', `sa-crash-${randomBytes(4).toString('hex')}`);
    cleanups.push(() => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    });
    const childFile = await bundleChild(dir);
    const running = fork(childFile, [], {
      env: { ...process.env, SA_CRASH_OVERRIDES: JSON.stringify({ ...overrides, namespace: config.namespace, redis: config.redis, logLevel: 'silent' }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    worker1.child = running;
    cleanups.push(() => Promise.resolve(void running.kill('SIGKILL')));
    await new Promise<void>((resolveReady, reject) => {
      running.once('message', () => { resolveReady(); });
      running.once('exit', (code) => { reject(new Error(`child exited early (${String(code)})`)); });
    });
    const exited = new Promise<number | null>((r) => running.once('exit', (_code, signal) => { r(signal === 'SIGKILL' ? 9 : -1); }));

    const alertId = `crash-alert-${randomBytes(4).toString('hex')}`;
    const job: ActionJobV1 = {
      v: 1,
      key: actionKey(alertId, 0, 'session_reset'),
      alertId,
      actionIndex: 0,
      action: { type: 'session_reset', mobile_only: false, web_only: false },
      rule: { id: 'slack.compromise.anomaly_then_mass_download', name: 'ATO', severity: 'critical', reference: 'runbook' },
      target: { id: VICTIM_USER_ID },
      alert: { firstSeen: new Date().toISOString(), lastSeen: new Date().toISOString(), count: 61, groupKey: VICTIM_USER_ID, eventIds: [] },
    };
    const queue = new Queue(QUEUES.actions, { connection: createRedis(config, 'command'), prefix: bullPrefix(config) });
    cleanups.push(() => queue.close());
    await queue.add('session_reset', job, actionJobOptions(config, job.key));

    expect(await exited).toBe(9);
    expect(killedAfterReset).toBe(true);
    const callsAfterCrash = ((await (await fetch(`${sim.url}/_sim/admin-calls`)).json()) as { calls: AdminCall[] }).calls;
    expect(callsAfterCrash.map((c) => [c.userId, c.outcome])).toEqual([[VICTIM_USER_ID, 'ok']]);
    const rec = await redis.hgetall(`${n.redisPrefix}:respond:act:${job.key}`);
    expect(rec.state).toBe('intent');

    // A fresh worker picks the stalled job up once the dead worker's lock expires.
    const worker = await startRulesWorker(config, log, { actionsOnly: true, lockDurationMs: 2000, stalledIntervalMs: 1000 });
    cleanups.push(() => worker.close());
    const deadline = Date.now() + 40_000;
    let outcome: Record<string, unknown> | undefined;
    while (Date.now() < deadline && !outcome) {
      await new Promise((r) => setTimeout(r, 500));
      const got = await es.get({ index: n.actionsIndex, id: job.key }, { ignore: [404] });
      if (got.found) outcome = (got._source as { slack: { response: Record<string, unknown> } }).slack.response;
    }
    expect(outcome).toMatchObject({ outcome: 'executed', details: { reconciled: true } });
    const calls = ((await (await fetch(`${sim.url}/_sim/admin-calls`)).json()) as { calls: AdminCall[] }).calls;
    expect(calls.filter((c) => c.method.includes('session.reset'))).toHaveLength(1);
  });
});
