import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { names } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { buildEsQuery } from '../../src/export/build-query.js';
import { runExport } from '../../src/export/run-export.js';
import { verifyExport } from '../../src/export/verify-export.js';
import { createLogger } from '../../src/observe/logger.js';
import { buildOrg, randomEntry } from '../../src/sim/org.js';
import { Prng } from '../../src/sim/prng.js';
import { createEsClient } from '../../src/sink/es-client.js';
import { indexRawEntries } from '../../src/sink/ingest-batch.js';
import { installTemplates, removeLayout } from '../../src/sink/templates.js';
import type { RawEntry } from '../../src/slack/entry.js';
import { testConfig } from '../helpers/env.js';

// Simulator entries indexed through the real ingest path (templates, toEcs, BulkWriter), then exported.
const START = Date.UTC(2025, 2, 31, 22) / 1000;
const COUNT = 1200;
const log = createLogger({ level: 'silent' });
const work = mkdtempSync(join(tmpdir(), 'sa-export-pipe-'));

function entries(): RawEntry[] {
  const rng = new Prng('export-pipeline');
  const org = buildOrg('export-pipeline');
  return Array.from({ length: COUNT }, (_, i) => randomEntry(rng, org, START + Math.floor(i * 7.5)));
}

const raws = entries();
const kept = testConfig({}, 'export_pipe');
const rebuilt = testConfig({ elasticsearch: { keepOriginal: false } }, 'export_pipe_noorig');
const es = createEsClient(kept);

async function ingest(config: Config): Promise<void> {
  await installTemplates(es, config, new Date(START * 1000));
  const outcomes = await indexRawEntries(raws, 'acme', { es, config, log, enrichers: { userAgent: () => undefined } });
  expect(outcomes.filter((o) => o.status !== 'created').map((o) => o.status)).toEqual([]);
  await es.indices.refresh({ index: names(config).eventsAlias });
}

beforeAll(async () => {
  await ingest(kept);
  await ingest(rebuilt);
}, 120_000);

afterAll(async () => {
  await removeLayout(es, kept);
  await removeLayout(es, rebuilt);
  await es.close();
  rmSync(work, { recursive: true, force: true });
});

const FROM = new Date(START * 1000);
const TO = new Date((START + COUNT * 8) * 1000);

describe('export of pipeline-indexed simulator events', () => {
  it('exports all of them once, with the raw Slack entry next to the ECS document', async () => {
    const out = join(work, 'ndjson');
    const { manifest } = await runExport(kept, { from: FROM, to: TO, format: 'ndjson', gzip: false, outDir: out, resume: false, maxFileBytes: 128 * 1024 }, { es, log });
    const count = (await es.count({ index: names(kept).eventsAlias, query: buildEsQuery(manifest.query) })).count;
    expect(count).toBe(COUNT);
    expect(manifest.total_records).toBe(count);
    expect(manifest.files.length).toBeGreaterThan(2);
    expect(manifest.elasticsearch.indices.length).toBe(2); // March and April 2025
    const byId = new Map(raws.map((r) => [r.id as string, r]));
    const seen = new Set<string>();
    for (const f of manifest.files) {
      for (const line of readFileSync(join(out, f.name), 'utf8').split('\n').filter(Boolean)) {
        const rec = JSON.parse(line) as { ecs: { event: { id: string; original?: unknown } }; original: RawEntry; original_source: string };
        expect(seen.has(rec.ecs.event.id)).toBe(false);
        seen.add(rec.ecs.event.id);
        expect(rec.original_source).toBe('event.original');
        expect(rec.original).toEqual(byId.get(rec.ecs.event.id));
        expect(rec.ecs.event.original).toBeUndefined();
      }
    }
    expect(seen.size).toBe(COUNT);
    expect((await verifyExport(out)).ok).toBe(true);
  });

  it('rebuilds the Slack entry from the ECS fields when event.original was not kept, in NDJSON and CSV', async () => {
    const out = join(work, 'csv');
    const { manifest } = await runExport(rebuilt, { from: FROM, to: TO, format: 'csv', gzip: true, outDir: out, resume: false, maxFileBytes: 1024 * 1024 }, { es, log });
    expect(manifest.total_records).toBe(COUNT);
    expect((await verifyExport(out)).ok).toBe(true);
    const byId = new Map(raws.map((r) => [r.id as string, r]));
    const { gunzipSync } = await import('node:zlib');
    let rows = 0;
    for (const f of manifest.files) {
      const parsed = parse<Record<string, string>>(gunzipSync(readFileSync(join(out, f.name))), { columns: true });
      rows += parsed.length;
      for (const row of parsed) {
        const raw = byId.get(row.event_id ?? '') as { action: string; date_create: number; actor?: { user?: { id?: string } }; entity?: { type?: string } } | undefined;
        expect(raw).toBeDefined();
        const original = JSON.parse(row.original_json ?? '{}') as typeof raw & { id: string };
        expect(original.id).toBe(row.event_id);
        expect(original.action).toBe(raw?.action);
        expect(original.date_create).toBe(raw?.date_create);
        expect(original.actor?.user?.id).toBe(raw?.actor?.user?.id);
        expect(original.entity?.type).toBe(raw?.entity?.type);
        expect(row.source_id).toBe('acme');
      }
    }
    expect(rows).toBe(COUNT);
  });
});
