import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { names } from '../../src/config/load.js';
import { createLogger } from '../../src/observe/logger.js';
import { createRedis, deleteKeysMatching } from '../../src/queue/connection.js';
import { GuardStore } from '../../src/respond/guards.js';
import type { ActionJobV1 } from '../../src/respond/types.js';
import { MemoryAlertSink } from '../../src/rules/alerts.js';
import { processRulesBatch } from '../../src/rules/engine.js';
import { compileRule, evaluateBatch } from '../../src/rules/evaluate.js';
import type { EcsDocument } from '../../src/rules/fields.js';
import { DEFAULT_RULES_DIR, loadRulesOrThrow } from '../../src/rules/load.js';
import { RedisRuleState } from '../../src/rules/state-redis.js';
import { MemoryRuleState, OCCURRENCE_CAP, type RuleState } from '../../src/rules/state.js';
import { testConfig } from '../helpers/env.js';

const config = testConfig({ slackAdmin: { ownAppIds: ['A0OWN'], ownActorIds: ['W0SEC'] } }, 'rstate');
const prefix = names(config).redisPrefix;
const redis: Redis = createRedis(config, 'command');
const log = createLogger({ level: 'silent' });
let seq = 0;
const fresh = () => new RedisRuleState(redis, { prefix: `${prefix}:${++seq}` });

afterAll(async () => {
  await deleteKeysMatching(redis, `${prefix}:*`);
  redis.disconnect();
});

const rules = loadRulesOrThrow([DEFAULT_RULES_DIR]).map((r) => compileRule(r.rule));
const byId = (id: string) => {
  const r = rules.find((x) => x.id === id);
  if (!r) throw new Error(id);
  return r;
};
const T0 = Date.parse('2026-01-02T09:00:00Z');
const ev = (id: string, sec: number, action: string, user = 'W0VICTIM01', extra: Record<string, unknown> = {}): EcsDocument => ({
  '@timestamp': new Date(T0 + sec * 1000).toISOString(),
  event: { id, action },
  user: { id: user },
  ...extra,
});
const downloads = (n: number, start: number, prefixId = 'dl') => Array.from({ length: n }, (_, i) => ev(`${prefixId}-${i}`, start + i * 5, 'file_downloaded'));
const anomaly = (id: string, sec: number, user = 'W0VICTIM01') => ev(id, sec, 'anomaly', user, { slack: { audit: { details: { reason: ['tor'] } } } });
const login = (id: string, day: number, cc: string) => ev(id, day * 86400, 'user_login', 'W0ALICE', { source: { geo: { country_iso_code: cc } } });

async function alertsFor(state: RuleState, ruleIds: string[], batches: EcsDocument[][]) {
  const sink = new MemoryAlertSink();
  const { buildAlertDocument } = await import('../../src/rules/alerts.js');
  for (const b of batches) {
    const res = await evaluateBatch(ruleIds.map(byId), b, state);
    await sink.upsert(res.hits.map((h) => buildAlertDocument(h, { now: 0 })));
  }
  return [...sink.alerts.values()];
}

describe('Redis rule state behaves like the in-memory one', () => {
  const scenarios: [string, string[], EcsDocument[][]][] = [
    ['threshold across batches, late and re-delivered', ['slack.download.mass'], [downloads(30, 150, 'new'), downloads(30, 0, 'old'), downloads(30, 0, 'old')]],
    ['threshold below the line with re-delivery', ['slack.download.mass'], [downloads(30, 0), downloads(30, 0)]],
    ['sequence split over batches, anomaly late', ['slack.compromise.anomaly_then_mass_download'], [downloads(60, 20), [anomaly('a1', 0)]]],
    ['new_value with re-delivery and lookback expiry', ['slack.login.new_country'], [[login('l1', 0, 'US'), login('l2', 1, 'RU')], [login('l2', 1, 'RU')], [login('l3', 40, 'RU')]]],
  ];
  for (const [name, ids, batches] of scenarios) {
    it(name, async () => {
      const mem = await alertsFor(new MemoryRuleState(), ids, batches);
      const red = await alertsFor(fresh(), ids, batches);
      expect(red.map((a) => [a.slack.alert.id, a.slack.alert.count]).sort()).toEqual(mem.map((a) => [a.slack.alert.id, a.slack.alert.count]).sort());
      expect(red.length).toBe(name.includes('below') ? 0 : name.includes('new_value') ? 2 : 1);
    });
  }

  it('keys carry TTLs and stay capped', async () => {
    const state = fresh();
    await state.addOccurrences(Array.from({ length: OCCURRENCE_CAP + 100 }, (_, i) => ({ key: 'occ:{r:g}:0', member: `m${i}`, ts: T0 + i, retentionMs: 600_000 })));
    const key = state.key('occ:{r:g}:0');
    expect(await redis.zcard(key)).toBe(OCCURRENCE_CAP);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    await state.checkNewValues([{ key: 'nv:{r:g}', value: 'US', ts: T0, eventId: 'e1', lookbackMs: 86_400_000 }]);
    for (const suffix of ['', ':first', ':origin']) expect(await redis.pttl(state.key(`nv:{r:g}${suffix}`))).toBeGreaterThan(0);
  });
});

describe('engine batch', () => {
  it('ignores our own reset events, remembers Slack anomaly-response resets, enqueues actions idempotently', async () => {
    const guards = new GuardStore(redis, prefix);
    const sink = new MemoryAlertSink();
    const enqueued: ActionJobV1[] = [];
    const deps = { config, rules, state: fresh(), alerts: sink, enqueue: (j: readonly ActionJobV1[]) => Promise.resolve(void enqueued.push(...j)), guards, log };
    const own = (id: string, actor: string, app: string) =>
      ev(id, 10, 'user_session_reset_by_admin', actor, { user: { id: actor, target: { id: `W0T${id}` } }, slack: { audit: { context: { app: { id: app } } } } });
    const nowSec = Math.floor(Date.now() / 1000) - T0 / 1000;
    const batch = [
      anomaly('a1', 0),
      ...downloads(60, 20),
      own('r1', 'W0SEC', 'A0X'),
      own('r2', 'W0OTHER', 'A0OWN'),
      ev('slackreset', nowSec, 'user_sessions_reset_by_anomaly_event_response', 'USLACKSECURITY', { user: { id: 'USLACKSECURITY', target: { id: 'W0HIT' } } }),
    ];
    const out = await processRulesBatch(deps, batch, 'acme');
    expect(out.ignoredOwn).toBe(2);
    expect(await guards.slackResetAt('W0HIT')).toBeGreaterThan(0);
    const seq = [...sink.alerts.values()].find((a) => (a.rule as { id: string }).id === 'slack.compromise.anomaly_then_mass_download');
    expect(seq?.slack.alert.source_id).toBe('acme');
    expect(enqueued.filter((j) => j.action.type === 'session_reset').map((j) => j.target?.id)).toEqual(['W0VICTIM01']);
    await processRulesBatch(deps, batch, 'acme');
    const keys = new Set(enqueued.map((j) => j.key));
    expect(keys.size).toBe(1);
  });
});
