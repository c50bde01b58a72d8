import { describe, expect, it } from 'vitest';
import { buildAlertDocument, MemoryAlertSink } from '../../src/rules/alerts.js';
import { isOwnResponseEvent } from '../../src/rules/engine.js';
import { alertIdFor, compileRule, evaluateBatch, type CompiledRule } from '../../src/rules/evaluate.js';
import type { EcsDocument } from '../../src/rules/fields.js';
import { parseRuleFile } from '../../src/rules/load.js';
import { stallHit, toMs } from '../../src/rules/stall.js';
import { MemoryRuleState, OCCURRENCE_CAP } from '../../src/rules/state.js';

const T0 = Date.parse('2026-01-02T09:00:00Z');

function ev(id: string, offsetSec: number, action: string, extra: Record<string, unknown> = {}): EcsDocument {
  return {
    '@timestamp': new Date(T0 + offsetSec * 1000).toISOString(),
    event: { id, action, kind: 'event' },
    user: { id: 'W1', email: 'alice@example.com', full_name: 'Alice' },
    ...extra,
  };
}

function rule(yamlRule: string): CompiledRule {
  const text = `rules:\n${yamlRule.replace(/^/gm, '  ')}`;
  const res = parseRuleFile('t.yaml', text);
  expect(res.issues).toEqual([]);
  const r = res.content?.rules[0];
  if (!r) throw new Error('no rule');
  return compileRule(r);
}

const head = (id: string, type: string) => `- id: ${id}\n  name: ${id}\n  description: d\n  severity: high\n  reference: runbook\n  type: ${type}\n`;

const downloads = (n: number, startSec: number, every: number, prefix = 'dl') =>
  Array.from({ length: n }, (_, i) => ev(`${prefix}-${i}`, startSec + i * every, 'file_downloaded'));

async function run(r: CompiledRule, batches: EcsDocument[][], state = new MemoryRuleState()) {
  const sink = new MemoryAlertSink();
  for (const b of batches) {
    const res = await evaluateBatch([r], b, state);
    await sink.upsert(res.hits.map((h) => buildAlertDocument(h, { now: 0 })));
  }
  return [...sink.alerts.values()];
}

describe('match rules', () => {
  const anomaly = rule(`${head('m', 'match')}  where: { field: event.action, equals: anomaly }\n  group_by: [user.id]\n`);
  it('one alert per event without suppress_for; deterministic ids survive a replay', async () => {
    const batch = [ev('a1', 0, 'anomaly'), ev('a2', 60, 'anomaly'), ev('x', 0, 'user_login')];
    const first = await run(anomaly, [batch]);
    expect(first).toHaveLength(2);
    const replay = await run(anomaly, [batch, batch]);
    expect(replay.map((a) => a.slack.alert.id).sort()).toEqual(first.map((a) => a.slack.alert.id).sort());
  });
  it('suppress_for folds repeats into one alert with merged event ids and count', async () => {
    const r = rule(`${head('m2', 'match')}  where: { field: event.action, equals: anomaly }\n  group_by: [user.id]\n  suppress_for: 1h\n`);
    const alerts = await run(r, [[ev('a1', 0, 'anomaly'), ev('a2', 60, 'anomaly')], [ev('a3', 120, 'anomaly'), ev('a1', 0, 'anomaly')]]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.slack.alert.event_ids.sort()).toEqual(['a1', 'a2', 'a3']);
    expect(alerts[0]?.slack.alert.count).toBe(3);
  });
  it('fills the alert fields: severity, rule, threat, target user, event.kind', async () => {
    const text = `rules:\n${head('m3', 'match').trimEnd().replace(/^/gm, '  ')}\n    where: { field: event.action, equals: anomaly }\n    group_by: [user.id]\n    threat:\n      - tactic: { id: TA0006, name: Credential Access }\n        technique: { id: T1539, name: Steal Web Session Cookie }\n`;
    const parsed = parseRuleFile('t.yaml', text);
    expect(parsed.issues).toEqual([]);
    const r0 = parsed.content?.rules[0];
    if (!r0) throw new Error('rule did not parse');
    const alerts = await run(compileRule(r0), [[ev('a1', 0, 'anomaly')]]);
    const a = alerts[0];
    if (!a) throw new Error('no alert');
    expect(a.event).toMatchObject({ kind: 'alert', severity: 73 });
    expect(a.rule).toMatchObject({ id: 'm3', reference: 'runbook', description: 'd' });
    expect(a.threat).toMatchObject({ framework: 'MITRE ATT&CK', tactic: { id: ['TA0006'] }, technique: { id: ['T1539'] } });
    expect(a.user).toEqual({ target: { id: 'W1', email: 'alice@example.com', name: 'Alice' } });
    expect(a.slack.alert.event_ids).toEqual(['a1']);
  });
  it('events without @timestamp or event.id are skipped, not guessed', async () => {
    const res = await evaluateBatch([anomaly], [{ event: { action: 'anomaly' } }, { '@timestamp': 'nope', event: { id: 'x', action: 'anomaly' } }], new MemoryRuleState());
    expect(res.hits).toHaveLength(0);
    expect(res.skipped).toBe(2);
  });
});

describe('threshold rules (event time)', () => {
  const mass = rule(`${head('t', 'threshold')}  where: { field: event.action, equals: file_downloaded }\n  group_by: [user.id]\n  window: 10m\n  threshold: 50\n`);
  it('alerts once at the threshold, with the window event ids and count', async () => {
    const alerts = await run(mass, [downloads(60, 0, 5)]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.slack.alert.count).toBe(60);
    expect(alerts[0]?.slack.alert.event_ids).toHaveLength(60);
    expect(alerts[0]?.user).toMatchObject({ target: { id: 'W1' } });
  });
  it('below threshold or spread beyond the window: no alert', async () => {
    expect(await run(mass, [downloads(49, 0, 5)])).toHaveLength(0);
    expect(await run(mass, [downloads(60, 0, 30)])).toHaveLength(0); // 60 in 30 min
  });
  it('newest-first batches and late (older) batches are judged by event time', async () => {
    expect(await run(mass, [downloads(60, 0, 5).reverse()])).toHaveLength(1);
    // 30 recent events first, then 30 older ones that arrive late: together 60 within 5 minutes.
    expect(await run(mass, [downloads(30, 150, 5, 'new'), downloads(30, 0, 5, 'old')])).toHaveLength(1);
    // arrival time does not matter: two batches hours apart in arrival but minutes apart in event time
    const sinkCount = await run(mass, [downloads(25, 0, 1, 'a'), downloads(25, 30, 1, 'b')]);
    expect(sinkCount).toHaveLength(1);
  });
  it('re-delivered events are counted once (event id is the set member)', async () => {
    const state = new MemoryRuleState();
    const batch = downloads(30, 0, 5);
    expect(await run(mass, [batch, batch, batch], state)).toHaveLength(0);
  });
  it('distinct counts a field, not events', async () => {
    const r = rule(`${head('d', 'threshold')}  where: { field: event.action, equals: user_login }\n  group_by: [user.id]\n  window: 10m\n  threshold: 3\n  distinct: source.ip\n`);
    const same = Array.from({ length: 5 }, (_, i) => ev(`l${i}`, i, 'user_login', { source: { ip: '10.0.0.1' } }));
    expect(await run(r, [same])).toHaveLength(0);
    const spread = Array.from({ length: 3 }, (_, i) => ev(`m${i}`, i, 'user_login', { source: { ip: `10.0.0.${i}` } }));
    expect(await run(r, [spread])).toHaveLength(1);
  });
  it('groups are separate', async () => {
    const other = downloads(30, 0, 5, 'o').map((d) => ({ ...d, user: { id: 'W2' } }));
    expect(await run(mass, [[...downloads(30, 0, 5), ...other]])).toHaveLength(0);
  });
  it('state per key stays bounded', async () => {
    const state = new MemoryRuleState();
    await state.addOccurrences(Array.from({ length: OCCURRENCE_CAP + 50 }, (_, i) => ({ key: 'k', member: `m${i}`, ts: i, retentionMs: 1e12 })));
    const [list] = await state.rangeOccurrences([{ key: 'k', from: 0, to: 1e12 }]);
    expect(list).toHaveLength(OCCURRENCE_CAP);
    expect(list?.[0]?.member).toBe('m50');
  });
});

describe('new_value rules', () => {
  const country = rule(
    `${head('n', 'new_value')}  where: { field: event.action, equals: user_login }\n  group_by: [user.id]\n  field: source.geo.country_iso_code\n  lookback: 30d\n`,
  );
  const login = (id: string, day: number, cc: string) => ev(id, day * 86400, 'user_login', { source: { geo: { country_iso_code: cc } } });
  it('learns on the first event, alerts on a new value, not on a known one', async () => {
    const alerts = await run(country, [[login('l1', 0, 'US'), login('l2', 1, 'US'), login('l3', 2, 'RU'), login('l4', 3, 'RU')]]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.slack.alert).toMatchObject({ new_value: 'RU', event_ids: ['l3'] });
  });
  it('a value unseen for longer than the lookback is new again', async () => {
    expect(await run(country, [[login('l1', 0, 'FR'), login('l2', 40, 'US'), login('l3', 80, 'FR')]])).toHaveLength(2);
  });
  it('re-delivery of the first sighting gives the same alert, a later sighting none', async () => {
    const state = new MemoryRuleState();
    const alerts = await run(country, [[login('l1', 0, 'US'), login('l2', 1, 'RU')], [login('l2', 1, 'RU')], [login('l3', 2, 'RU')]], state);
    expect(alerts).toHaveLength(1);
  });
  it('a late event older than the known sighting is not new', async () => {
    expect(await run(country, [[login('l1', 0, 'US'), login('l2', 5, 'RU')], [login('l0', 3, 'RU')]])).toHaveLength(1);
  });
});

describe('sequence rules', () => {
  const seq = rule(
    `${head('s', 'sequence')}  group_by: [user.id]\n  window: 30m\n  steps:\n    - { name: anomaly, where: { field: event.action, equals: anomaly } }\n    - { name: mass, min_count: 50, where: { field: event.action, equals: file_downloaded } }\n`,
  );
  it('anomaly then >= 50 downloads in the window alerts once', async () => {
    const alerts = await run(seq, [[ev('a', 0, 'anomaly'), ...downloads(60, 20, 5)]]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.slack.alert.event_ids).toContain('a');
    expect(alerts[0]?.slack.alert.count).toBe(61);
  });
  it('order matters; too few or too late does not complete', async () => {
    expect(await run(seq, [[...downloads(60, 0, 5), ev('a', 400, 'anomaly')]])).toHaveLength(0);
    expect(await run(seq, [[ev('a', 0, 'anomaly'), ...downloads(49, 20, 5)]])).toHaveLength(0);
    expect(await run(seq, [[ev('a', 0, 'anomaly'), ...downloads(60, 1900, 5)]])).toHaveLength(0);
  });
  it('steps arriving in separate batches, even out of order, complete it with the same alert id', async () => {
    const together = await run(seq, [[ev('a', 0, 'anomaly'), ...downloads(60, 20, 5)]]);
    const split = await run(seq, [downloads(60, 20, 5), [ev('a', 0, 'anomaly')]]);
    expect(split).toHaveLength(1);
    expect(split[0]?.slack.alert.id).toBe(together[0]?.slack.alert.id);
  });
  it('other users do not complete the victim sequence', async () => {
    const other = downloads(60, 20, 5).map((d) => ({ ...d, user: { id: 'W2' } }));
    expect(await run(seq, [[ev('a', 0, 'anomaly'), ...other]])).toHaveLength(0);
  });
});

describe('alert ids, own events, stall', () => {
  it('alert id = hash(rule, group, bucket)', () => {
    expect(alertIdFor('r', 'g', 'b')).toBe(alertIdFor('r', 'g', 'b'));
    expect(alertIdFor('r', 'g', 'b')).not.toBe(alertIdFor('r', 'g', 'c'));
  });
  it('recognises the audit events our own resets produce', () => {
    const cfg = { slackAdmin: { ownAppIds: ['A0OWN'], ownActorIds: ['W0SEC'], apiUrl: 'x' } } as Parameters<typeof isOwnResponseEvent>[1];
    const reset = (app: string, actor: string) => ({ event: { action: 'user_session_reset_by_admin' }, user: { id: actor }, slack: { audit: { context: { app: { id: app } } } } });
    expect(isOwnResponseEvent(reset('A0OWN', 'W0X'), cfg)).toBe(true);
    expect(isOwnResponseEvent(reset('A0OTHER', 'W0SEC'), cfg)).toBe(true);
    expect(isOwnResponseEvent(reset('A0OTHER', 'W0X'), cfg)).toBe(false);
    expect(isOwnResponseEvent({ event: { action: 'anomaly' }, user: { id: 'W0SEC' } }, cfg)).toBe(false);
  });
  it('stall: reads seconds or ms, alerts past the threshold, one alert per episode', () => {
    expect(toMs('1767345000')).toBe(1767345000000);
    expect(toMs(1767345000000)).toBe(1767345000000);
    expect(toMs('garbage')).toBeUndefined();
    const r = rule(`${head('st', 'collection_stall')}  after: 30m\n`);
    const now = 1767345000000;
    expect(stallHit(r, 'acme', { lastSuccessAt: String((now - 10 * 60_000) / 1000) }, now, 0)).toBeUndefined();
    const a = stallHit(r, 'acme', { lastSuccessAt: String(now - 60 * 60_000) }, now, 0);
    const b = stallHit(r, 'acme', { lastSuccessAt: String(now - 60 * 60_000) }, now + 60_000, 0);
    expect(a?.alertId).toBeDefined();
    expect(b?.alertId).toBe(a?.alertId);
    expect(stallHit(r, 'acme', {}, now, 0)).toBeUndefined();
  });
});
