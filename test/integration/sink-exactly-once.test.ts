import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { names } from '../../src/config/load.js';
import { createEnrichers } from '../../src/normalize/enrich.js';
import { createLogger } from '../../src/observe/logger.js';
import type { IngestJobV1 } from '../../src/queue/jobs.js';
import { BulkWriter } from '../../src/sink/bulk-writer.js';
import { listDeadLetters } from '../../src/sink/dead-letter.js';
import { createEsClient } from '../../src/sink/es-client.js';
import { processIngestJob } from '../../src/sink/ingest-batch.js';
import { applyRetention, eventsIndexFor, installTemplates, removeLayout, templateNames } from '../../src/sink/templates.js';
import { ELASTIC_SAMPLE_ENTRIES } from '../helpers/conformance.js';
import { testConfig } from '../helpers/env.js';

/**
 * Exactly once, against the real Elasticsearch: the same batch written again, and again after new indices
 * exist (next month's index, an alias rolled over), is found exactly once through the read alias.
 */

const config = testConfig({}, 'sink_once');
const es = createEsClient(config);
const log = createLogger({ level: 'silent' });
const enrichers = createEnrichers(config.geoip);
const writer = BulkWriter.fromConfig(es, config, { refresh: 'wait_for' });
const n = names(config);

function entry(id: string, dateCreate: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    date_create: dateCreate,
    action: 'user_login',
    actor: { type: 'user', user: { id: 'W1', name: 'Alice', email: 'alice@example.com' } },
    entity: { type: 'user', user: { id: 'W2', name: 'Bob', email: 'bob@example.com' } },
    context: { location: { type: 'enterprise', id: 'E1', name: 'Corp', domain: 'corp' }, ua: 'Mozilla/5.0', ip_address: '198.51.100.9', session_id: 1 },
    ...over,
  };
}

const ENTRIES: Record<string, unknown>[] = [
  ...ELASTIC_SAMPLE_ENTRIES.map((l) => JSON.parse(l) as Record<string, unknown>),
  entry('odd-ipv6', 1706745600, { context: { ip_address: '2001:db8::7', ua: '' } }),
  entry('odd-empty-ip', 1706745601, { context: { ip_address: '', app: null } }),
  entry('odd-string-details', 1706745602, { details: 'a plain string' }),
  entry('odd-array-details', 1706745603, { details: [1, 'two', { three: 3 }] }),
  entry('odd-object-details', 1706745604, { details: { new_value: { x: ['a'] }, previous_value: 'b', '': 'empty key', 'a.b': 1 } }),
  entry('odd-unknown-entity', 1706745605, { action: 'hologram_created', entity: { type: 'hologram', hologram: { id: 'H1', depth: { z: 1 } } } }),
  entry('odd-60kb', 1706745606, { details: { blob: 'x'.repeat(60 * 1024) } }),
  // Polymorphic details across events: string here, object in the next one (same key).
  entry('poly-1', 1709251200, { action: 'pref.sso_setting_changed', details: { new_value: 'on' } }),
  entry('poly-2', 1709251201, { action: 'pref.sso_setting_changed', details: { new_value: { sso: ['required'] } } }),
];
const IDS = ENTRIES.map((e) => e.id as string);

function job(entries: unknown[], chunk = 0): IngestJobV1 {
  return { v: 1, sourceId: 'acme', kind: 'live', windowId: 'live:1-2', page: 0, chunk, fetchedAt: Date.now(), entries: entries as Record<string, unknown>[] };
}

async function idCounts(): Promise<Map<string, number>> {
  await es.indices.refresh({ index: n.eventsAlias });
  const res = await es.search({ index: n.eventsAlias, size: 0, aggs: { ids: { terms: { field: 'event.id', size: 1000 } } } });
  const buckets = (res.aggregations?.ids as { buckets: { key: string; doc_count: number }[] }).buckets;
  return new Map(buckets.map((b) => [b.key, b.doc_count]));
}

beforeAll(async () => {
  const steps = await installTemplates(es, config, new Date('2024-02-15T00:00:00Z'));
  expect(steps.filter((s) => s.kind === 'index' && s.result === 'created').map((s) => s.name)).toEqual([`${n.eventsIndexPrefix}2024.02`, n.alertsIndex, n.actionsIndex, n.dlqIndex]);
});

afterAll(async () => {
  await removeLayout(es, config);
  await es.close();
});

describe('sink: exactly once across re-writes and new indices', () => {
  it('setup is idempotent and installs a priority-250 template with the read alias and no data stream', async () => {
    const again = await installTemplates(es, config, new Date('2024-02-15T00:00:00Z'));
    expect(again.filter((s) => s.kind === 'index').map((s) => s.result)).toEqual(['exists', 'exists', 'exists', 'exists']);
    const t = await es.indices.getIndexTemplate({ name: templateNames(config).indexTemplates.events });
    const tpl = t.index_templates[0]?.index_template;
    expect(tpl?.priority).toBe(250);
    expect(tpl?.index_patterns).toEqual([`logs-slack.audit-${config.namespace}-*`]);
    expect(tpl?.data_stream).toBeUndefined();
    const alias = await es.indices.getAlias({ name: n.eventsAlias });
    expect(Object.keys(alias)).toEqual([`${n.eventsIndexPrefix}2024.02`]);
  });

  it('first write indexes every valid entry into the month of its own date_create; the invalid one is dead-lettered', async () => {
    const bad = { date_create: 1706745600, action: 'user_login' };
    const r = await processIngestJob(job([...ENTRIES, bad]), { es, config, log, enrichers, writer, jobId: 'job-1', attempt: 1 });
    expect(r).toMatchObject({ indexed: ENTRIES.length, duplicates: 0, deadLettered: 1 });
    expect(r.docs.map((d) => d.event.id).sort()).toEqual([...IDS].sort());
    const counts = await idCounts();
    expect([...counts.keys()].sort()).toEqual([...IDS].sort());
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    const got = await es.get({ index: eventsIndexFor(config, 1521214343), id: '0123a45b-6c7d-8900-e12f-3456789gh0i1' });
    expect(got._index).toBe(`${n.eventsIndexPrefix}2018.03`);
    const dlq = await listDeadLetters(es, config);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]?.record.dlq).toMatchObject({ stage: 'validate', reason: 'missing_id', source_id: 'acme', job_id: 'job-1', attempts: 1 });
    expect(JSON.parse(dlq[0]?.record.dlq.raw ?? '')).toEqual(bad);
  });

  it('the same batch again: all duplicates, nothing new', async () => {
    const r = await processIngestJob(job(ENTRIES), { es, config, log, enrichers, writer });
    expect(r).toMatchObject({ indexed: 0, duplicates: ENTRIES.length, deadLettered: 0 });
    expect(r.docs).toHaveLength(ENTRIES.length);
    const counts = await idCounts();
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    expect(counts.size).toBe(ENTRIES.length);
  });

  it("after next month's index exists and an alias was rolled over, replays and late events still land once", async () => {
    // A "new time-based index": the month after the newest event, created ahead of time.
    await es.indices.create({ index: `${n.eventsIndexPrefix}2024.04` });
    // A rollover: an operator-style write alias over indices matching our pattern, rolled to a new index.
    await es.indices.create({ index: `${n.eventsIndexPrefix}rollover-000001`, aliases: { [`${n.eventsIndexPrefix}write`]: { is_write_index: true } } });
    const rolled = await es.indices.rollover({ alias: `${n.eventsIndexPrefix}write` });
    expect(rolled.rolled_over).toBe(true);
    expect(rolled.new_index).toBe(`${n.eventsIndexPrefix}rollover-000002`);
    // New indices picked up the read alias from the template, so the search below covers them too.
    const alias = await es.indices.getAlias({ name: n.eventsAlias });
    expect(Object.keys(alias)).toEqual(expect.arrayContaining([`${n.eventsIndexPrefix}2024.04`, `${n.eventsIndexPrefix}rollover-000002`]));

    const late = [...ENTRIES].reverse();
    const r = await processIngestJob(job(late, 1), { es, config, log, enrichers, writer });
    expect(r).toMatchObject({ indexed: 0, duplicates: ENTRIES.length, deadLettered: 0 });
    const counts = await idCounts();
    expect(counts.size).toBe(ENTRIES.length);
    for (const id of IDS) expect(counts.get(id), id).toBe(1);
    // And through Elastic Security's default pattern.
    const viaLogs = await es.count({ index: 'logs-*', query: { term: { 'event.id': 'bbcf1d28-4012-4771-8179-8a59c6f2bffa' } } });
    expect(viaLogs.count).toBe(1);
  });

  it('explicit mappings: ip, geo_point, flattened details searchable by key, original stored but not indexed', async () => {
    const mapping = await es.indices.getMapping({ index: `${n.eventsIndexPrefix}2023.01` });
    const props = Object.values(mapping)[0]?.mappings;
    expect(props?.dynamic).toBe('false');
    const m = JSON.stringify(props);
    expect(m).toContain('"details":{"type":"flattened"');
    const original = (props?.properties?.event as { properties?: Record<string, unknown> } | undefined)?.properties?.original;
    expect(original).toMatchObject({ type: 'keyword', index: false, doc_values: false });
    const anomalies = await es.search({ index: n.eventsAlias, query: { term: { 'slack.audit.details.reason': 'asn' } } });
    expect(anomalies.hits.hits.map((h) => h._id).sort()).toEqual(['16f5fb41-c67c-4cf5-a5c4-d90cb58dd5f9', 'abc8e17e-c081-4b82-a515-4c54674e3de4']);
    const poly = await es.search({ index: n.eventsAlias, query: { term: { 'slack.audit.details.new_value': 'on' } } });
    expect(poly.hits.hits.map((h) => h._id)).toEqual(['poly-1']);
    const v6 = await es.search({ index: n.eventsAlias, query: { term: { 'source.ip': '2001:db8::/32' } } });
    expect(v6.hits.hits.map((h) => h._id)).toEqual(['odd-ipv6']);
    const london = await es.count({ index: n.eventsAlias, query: { geo_distance: { distance: '300km', 'source.geo.location': { lat: 51.5, lon: -0.1 } } } });
    expect(london.count).toBeGreaterThanOrEqual(4);
    const big = await es.get<{ slack: { audit: { details: { blob: string } } } }>({ index: eventsIndexFor(config, 1706745606), id: 'odd-60kb' });
    expect(big._source?.slack.audit.details.blob.length).toBe(60 * 1024);
    const target = await es.count({ index: n.eventsAlias, query: { term: { 'user.target.id': 'asdfasdf' } } });
    expect(target.count).toBe(2);
  });

  it('retention deletes whole monthly indices older than retentionMonths, nothing else', async () => {
    const keepAll = await applyRetention(es, config, new Date('2024-06-15T00:00:00Z'));
    expect(keepAll).toEqual([]);
    const withRetention = { ...config, elasticsearch: { ...config.elasticsearch, retentionMonths: 12 } };
    const deleted = await applyRetention(es, withRetention, new Date('2024-06-15T00:00:00Z'));
    expect(deleted).toEqual([`${n.eventsIndexPrefix}2018.03`, `${n.eventsIndexPrefix}2019.08`, `${n.eventsIndexPrefix}2023.01`, `${n.eventsIndexPrefix}2023.05`]);
    const left = Object.keys(await es.indices.get({ index: n.eventsPattern })).sort();
    expect(left).toContain(`${n.eventsIndexPrefix}2023.07`);
    expect(left).toContain(`${n.eventsIndexPrefix}rollover-000001`);
  });
});
