import type { estypes } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { names } from '../../src/config/load.js';
import { createEnrichers } from '../../src/normalize/enrich.js';
import { createLogger } from '../../src/observe/logger.js';
import type { IngestJobV1 } from '../../src/queue/jobs.js';
import { BulkWriter } from '../../src/sink/bulk-writer.js';
import { listDeadLetters } from '../../src/sink/dead-letter.js';
import { replayDeadLetters } from '../../src/sink/dlq-replay.js';
import { createEsClient } from '../../src/sink/es-client.js';
import { processIngestJob } from '../../src/sink/ingest-batch.js';
import { installTemplates, partMappings, removeLayout, templateNames } from '../../src/sink/templates.js';
import { testConfig } from '../helpers/env.js';

/**
 * A mapping conflict goes to the DLQ with the raw entry; after the template is fixed (`setup` again),
 * `dlq replay` indexes the entries and removes their records.
 */
const config = testConfig({}, 'sink_dlq');
const es = createEsClient(config);
const log = createLogger({ level: 'silent' });
const enrichers = createEnrichers(config.geoip);
const writer = BulkWriter.fromConfig(es, config, { refresh: 'wait_for' });
const deps = { es, config, log, enrichers, writer };
const n = names(config);

function entry(id: string, details?: Record<string, unknown>): Record<string, unknown> {
  return {
    id,
    date_create: 1683836275,
    action: 'pref.sso_setting_changed',
    actor: { type: 'user', user: { id: 'W1', name: 'Alice', email: 'alice@example.com' } },
    entity: { type: 'enterprise', enterprise: { id: 'E1', name: 'Corp', domain: 'corp' } },
    context: { location: { type: 'enterprise', id: 'E1', name: 'Corp', domain: 'corp' }, ua: 'Mozilla/5.0', ip_address: '198.51.100.9' },
    ...(details ? { details } : {}),
  };
}

const job = (entries: unknown[]): IngestJobV1 => ({ v: 1, sourceId: 'acme', kind: 'live', windowId: 'live:1-2', page: 0, chunk: 0, fetchedAt: Date.now(), entries: entries as Record<string, unknown>[] });

beforeAll(async () => {
  await installTemplates(es, config);
  // Sabotage this test namespace's template: strict root and no slack.audit.details mapping, the kind of
  // mistake a hand-edited template makes. Indices created from now on get this broken mapping.
  const broken = partMappings('events') as { dynamic: unknown; properties: { slack: { properties: { audit: { properties: Record<string, unknown> } } } } };
  broken.dynamic = 'strict';
  delete broken.properties.slack.properties.audit.properties.details;
  await es.cluster.putComponentTemplate({ name: templateNames(config).components.events, template: { mappings: broken as unknown as estypes.MappingTypeMapping } });
});

afterAll(async () => {
  await removeLayout(es, config);
  await es.close();
});

describe('sink: mapping conflicts go to the DLQ and replay after the fix', () => {
  it('rejected items are dead-lettered with the raw entry, the error and the attempt count; the rest index', async () => {
    const r = await processIngestJob(job([entry('ok-1'), entry('bad-1', { new_value: 'on' }), entry('bad-2', { new_value: { a: 1 } }), entry('ok-2'), { action: 'x' }]), { ...deps, jobId: 'j-1', attempt: 3 });
    expect(r).toMatchObject({ indexed: 2, duplicates: 0, deadLettered: 3 });
    expect(r.docs.map((d) => d.event.id).sort()).toEqual(['ok-1', 'ok-2']);
    const dlq = await listDeadLetters(es, config);
    const byEntry = new Map(dlq.map((h) => [h.record.dlq.entry_id ?? '(none)', h.record]));
    expect(byEntry.get('bad-1')?.dlq).toMatchObject({ stage: 'index', reason: 'strict_dynamic_mapping_exception', attempts: 3, job_id: 'j-1', target_index: `${n.eventsIndexPrefix}2023.05`, kind: 'entry' });
    expect(byEntry.get('bad-1')?.error.message).toMatch(/details/);
    expect(JSON.parse(byEntry.get('bad-2')?.dlq.raw ?? '')).toEqual(entry('bad-2', { new_value: { a: 1 } }));
    expect(byEntry.get('(none)')?.dlq).toMatchObject({ stage: 'validate', reason: 'missing_id' });
  });

  it('the same job retried updates the same records (deterministic ids), it does not add new ones', async () => {
    await processIngestJob(job([entry('bad-1', { new_value: 'on' })]), { ...deps, jobId: 'j-1', attempt: 4 });
    const dlq = await listDeadLetters(es, config);
    expect(dlq).toHaveLength(3);
    expect(dlq.find((h) => h.record.dlq.entry_id === 'bad-1')?.record.dlq.attempts).toBe(4);
  });

  it('replay before the fix fails again and keeps the records', async () => {
    const report = await replayDeadLetters(deps, { all: true });
    expect(report).toMatchObject({ indexed: 0, failed: 3 });
    expect(await listDeadLetters(es, config)).toHaveLength(3);
  });

  it('after `setup` fixes the template and the existing index mapping, replay indexes them and clears their records', async () => {
    const steps = await installTemplates(es, config);
    expect(steps).toContainEqual({ kind: 'mapping', name: `${n.eventsIndexPrefix}2023.05`, result: 'updated' });
    const [one] = (await listDeadLetters(es, config)).filter((h) => h.record.dlq.entry_id === 'bad-1');
    const byId = await replayDeadLetters(deps, { ids: [one?.id ?? '', 'no-such-record'] });
    expect(byId).toMatchObject({ indexed: 1, missing: 1 });
    const all = await replayDeadLetters(deps, { all: true });
    expect(all).toMatchObject({ indexed: 1, failed: 1 });
    const left = await listDeadLetters(es, config);
    expect(left.map((h) => h.record.dlq.reason)).toEqual(['missing_id']);
    await es.indices.refresh({ index: n.eventsAlias });
    const found = await es.search({ index: n.eventsAlias, size: 10, query: { exists: { field: 'slack.audit.details' } } });
    expect(found.hits.hits.map((h) => h._id).sort()).toEqual(['bad-1', 'bad-2']);
    const total = await es.count({ index: n.eventsAlias });
    expect(total.count).toBe(4);
  });
});
