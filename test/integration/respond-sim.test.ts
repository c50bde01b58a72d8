import { Queue } from 'bullmq';
import type { Client } from '@elastic/elasticsearch';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { names } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { toEcs } from '../../src/normalize/index.js';
import { createLogger } from '../../src/observe/logger.js';
import { QUEUES, type RulesJobV1 } from '../../src/queue/jobs.js';
import { bullPrefix, createRedis, deleteKeysMatching } from '../../src/queue/connection.js';
import { listDeadLetters } from '../../src/sink/dead-letter.js';
import { createEsClient } from '../../src/sink/es-client.js';
import { installTemplates } from '../../src/sink/templates.js';
import {
  ADMIN_ACTOR_ID,
  DEFAULT_SIM_ADMIN_TOKEN,
  DEFAULT_SIM_TOKEN,
  OWN_APP_ID,
  PRIMARY_OWNER_ID,
  PROTECTED_ADMIN_ID,
  VICTIM_USER_ID,
  startSimulator,
  type AdminCall,
  type SimHandle,
} from '../../src/sim/index.js';
import { startRulesWorker } from '../../workers/rules.js';
import { testConfig } from '../helpers/env.js';

/**
 * The simulator's attack story through the real rules role: BullMQ rules queue -> rules -> ES alerts ->
 * actions queue -> guarded session resets against the simulator's admin API.
 */
const log = createLogger({ level: 'silent' });

interface Ctx {
  sim: SimHandle;
  config: Config;
  es: Client;
  redis: Redis;
  stop(): Promise<void>;
}
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function setup(mode: 'enforce' | 'dry-run'): Promise<Ctx> {
  const sim = await startSimulator({ port: 0, historicalEvents: 0, liveRatePerSecond: 0, attackStory: true, rateLimitPerMinute: 0 });
  const config = testConfig(
    {
      sources: [{ id: 'sim', apiUrl: sim.auditUrl, token: DEFAULT_SIM_TOKEN }],
      slackAdmin: { apiUrl: sim.apiUrl, token: DEFAULT_SIM_ADMIN_TOKEN, ownAppIds: [OWN_APP_ID], ownActorIds: [ADMIN_ACTOR_ID] },
      responses: { mode, protectedUsers: [PROTECTED_ADMIN_ID] },
    },
    `rsim_${mode.replace('-', '')}`,
  );
  const es = createEsClient(config);
  await installTemplates(es, config);
  const redis = createRedis(config, 'command');
  const worker = await startRulesWorker(config, log);
  const ctx: Ctx = {
    sim,
    config,
    es,
    redis,
    stop: async () => {
      await worker.close();
      const n = names(config);
      await es.indices.delete({ index: [n.alertsIndex, n.actionsIndex].join(','), ignore_unavailable: true });
      await deleteKeysMatching(redis, `${config.redis.prefix}*`);
      redis.disconnect();
      await es.close();
      await sim.close();
    },
  };
  cleanups.push(() => ctx.stop());
  return ctx;
}

async function storyDocs(sim: SimHandle): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${sim.url}/_sim/events?full=1`);
  const body = (await res.json()) as { entries: unknown[] };
  const docs = body.entries.map((e) => toEcs(e, { sourceId: 'sim', keepOriginal: false })).flatMap((r) => (r.ok ? [r.doc] : []));
  expect(docs.length).toBeGreaterThan(150);
  return docs;
}

async function enqueueBatches(config: Config, docs: Record<string, unknown>[], tag: string): Promise<void> {
  const queue = new Queue(QUEUES.rules, { connection: createRedis(config, 'command'), prefix: bullPrefix(config) });
  // Newest first, in two batches, as the collector would deliver Slack's pages.
  const sorted = [...docs].sort((a, b) => String(b['@timestamp']).localeCompare(String(a['@timestamp'])));
  const half = Math.ceil(sorted.length / 2);
  for (const [i, events] of [sorted.slice(0, half), sorted.slice(half)].entries()) {
    const data: RulesJobV1 = { v: 1, sourceId: 'sim', events };
    await queue.add('batch', data, { jobId: `${tag}-${i}` });
  }
  await queue.add('bad', { v: 99, events: 'nope' }, { jobId: `${tag}-bad` });
  await queue.close();
}

async function adminCalls(sim: SimHandle): Promise<AdminCall[]> {
  const res = await fetch(`${sim.url}/_sim/admin-calls`);
  return ((await res.json()) as { calls: AdminCall[] }).calls;
}

async function search(es: Client, index: string): Promise<Record<string, unknown>[]> {
  await es.indices.refresh({ index, ignore_unavailable: true });
  const res = await es.search({ index, size: 500, ignore_unavailable: true, query: { match_all: {} } });
  return res.hits.hits.map((h) => h._source as Record<string, unknown>);
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

type Action = { slack: { response: { outcome: string; alert_id: string; action: string; error?: string; details?: Record<string, unknown> } }; user?: { target?: { id?: string } } };
const targetOf = (d: Record<string, unknown>) => (d.user as { target?: { id?: string } } | undefined)?.target?.id;

describe('attack story through the rules role', () => {
  it('enforce: victim alerted and reset exactly once, protected user alerted not reset, primary owner one failed attempt', async () => {
    const ctx = await setup('enforce');
    const docs = await storyDocs(ctx.sim);
    await enqueueBatches(ctx.config, docs, 'story');
    const n = names(ctx.config);
    const actions = await until('three action outcomes', async () => {
      const a = (await search(ctx.es, n.actionsIndex)) as unknown as Action[];
      return a.length >= 3 ? a : undefined;
    });
    const byUser = new Map(actions.map((a) => [a.user?.target?.id, a.slack.response]));
    expect(byUser.get(VICTIM_USER_ID)?.outcome).toBe('executed');
    expect(byUser.get(PROTECTED_ADMIN_ID)?.outcome).toBe('skipped_protected');
    expect(byUser.get(PRIMARY_OWNER_ID)).toMatchObject({ outcome: 'failed', error: 'cannot_reset_primary_owner', details: { slackError: 'cannot_reset_primary_owner' } });

    // The outcome is attached to the alert right after the action record is written.
    const alerts = await until('the outcome attached to the sequence alert', async () => {
      const all = await search(ctx.es, n.alertsIndex);
      const attached = all.some((a) => targetOf(a) === VICTIM_USER_ID && ((a.slack as { alert: { actions?: unknown[] } }).alert.actions ?? []).length > 0);
      return attached ? all : undefined;
    });
    const rulesFor = (user: string) => new Set(alerts.filter((a) => targetOf(a) === user).map((a) => (a.rule as { id: string }).id));
    for (const user of [VICTIM_USER_ID, PROTECTED_ADMIN_ID, PRIMARY_OWNER_ID]) {
      const ids = rulesFor(user);
      expect(ids.has('slack.anomaly.session_fingerprint') || ids.has('slack.anomaly.tor'), user).toBe(true);
      expect(ids.has('slack.download.mass'), user).toBe(true);
      expect(ids.has('slack.compromise.anomaly_then_mass_download'), user).toBe(true);
    }
    const seq = alerts.find((a) => targetOf(a) === VICTIM_USER_ID && (a.rule as { id: string }).id === 'slack.compromise.anomaly_then_mass_download');
    const sa = (seq?.slack as { alert: { event_ids: string[]; actions: { outcome: string }[] } }).alert;
    expect(seq?.event).toMatchObject({ kind: 'alert', severity: 99 });
    expect(sa.event_ids.length).toBeGreaterThanOrEqual(51);
    expect(sa.actions.map((x) => x.outcome)).toEqual(['executed']);

    // Replay the whole story (a re-scan): no new alerts, no new resets; our own reset events are ignored.
    const alertCount = alerts.length;
    await enqueueBatches(ctx.config, [...docs, ...(await storyDocs(ctx.sim))], 'replay');
    await new Promise((r) => setTimeout(r, 4000));
    expect((await search(ctx.es, n.alertsIndex)).length).toBe(alertCount);
    const calls = await adminCalls(ctx.sim);
    const resets = (u: string) => calls.filter((c) => c.method.includes('session.reset') && c.userId === u);
    expect(resets(VICTIM_USER_ID).map((c) => c.outcome)).toEqual(['ok']);
    expect(resets(PROTECTED_ADMIN_ID)).toEqual([]);
    expect(resets(PRIMARY_OWNER_ID).map((c) => c.outcome)).toEqual(['cannot_reset_primary_owner']);
  });

  it('dry-run: alerts and dry_run records, and not a single admin call', async () => {
    const ctx = await setup('dry-run');
    await enqueueBatches(ctx.config, await storyDocs(ctx.sim), 'story');
    const n = names(ctx.config);
    const actions = await until('three dry-run outcomes', async () => {
      const a = (await search(ctx.es, n.actionsIndex)) as unknown as Action[];
      return a.length >= 3 ? a : undefined;
    });
    expect(actions.map((a) => a.slack.response.outcome).sort()).toEqual(['dry_run', 'dry_run', 'skipped_protected']);
    expect(await adminCalls(ctx.sim)).toEqual([]);
    // The payload nobody understands is parked in the DLQ, not dropped.
    const bad = await until('the bad rules job dead-lettered', async () => (await listDeadLetters(ctx.es, ctx.config)).find((h) => h.record.dlq.job_id === 'story-bad'));
    expect(bad.record.dlq).toMatchObject({ kind: 'job', stage: 'decode', reason: 'SLACK_AUDIT_JOB_INVALID' });
    expect(JSON.parse(bad.record.dlq.raw)).toEqual({ v: 99, events: 'nope' });
  });
});
