import { createHash, generateKeyPairSync } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { names } from '../../src/config/load.js';
import { buildEsQuery } from '../../src/export/build-query.js';
import type { Coverage } from '../../src/export/completeness.js';
import { runDailyExport } from '../../src/export/daily.js';
import { loadEd25519PrivateKey, loadEd25519PublicKey, loadHmacKey } from '../../src/export/manifest-crypto.js';
import type { ExportProgress } from '../../src/export/progress.js';
import { CSV_COLUMNS } from '../../src/export/records.js';
import { runExport, type ExportRequest } from '../../src/export/run-export.js';
import { deleteSyntheticIndices, indexSynthetic, syntheticEntry } from '../../src/export/synthetic-events.js';
import { STATE_FILE, type ExportQuery } from '../../src/export/types.js';
import { verifyExport } from '../../src/export/verify-export.js';
import { createLogger } from '../../src/observe/logger.js';
import { createEsClient } from '../../src/sink/es-client.js';
import { testConfig } from '../helpers/env.js';

// 3000 events, 90 s apart, from 2024-01-30T00:00Z: they straddle a month boundary (two monthly indices).
const COUNT = 3000;
const START = Date.UTC(2024, 0, 30) / 1000;
const SYN = { seed: 7, startSec: START, spacingSec: 90, sourceIds: ['acme', 'globex'], dropOriginalEvery: 10 };
const FROM = new Date(START * 1000);
const TO = new Date((START + COUNT * 90) * 1000);

const config = testConfig({ sources: [{ id: 'acme' }, { id: 'globex' }] }, 'export');
const es = createEsClient(config);
const log = createLogger({ level: 'silent' });
const work = mkdtempSync(join(tmpdir(), 'sa-export-'));
let n = 0;
const dir = (label: string) => join(work, `${label}-${++n}`);

const fullCoverage = async (): Promise<Coverage> => Promise.resolve({ from: START - 10, to: START + COUNT * 90 + 10, pendingIngestJobs: 0, gaps: [] });

function request(over: Partial<ExportRequest> = {}): ExportRequest {
  return { from: FROM, to: TO, format: 'ndjson', gzip: false, outDir: dir('x'), resume: false, maxFileBytes: 64 * 1024, pageSize: 250, ...over };
}

function queryOf(over: Partial<ExportQuery>): ExportQuery {
  return { namespace: config.namespace, from: FROM.toISOString(), to: TO.toISOString(), source: null, actions: null, actor: null, query: null, ...over };
}

async function esCount(q: ExportQuery): Promise<number> {
  return (await es.count({ index: names(config).eventsAlias, query: buildEsQuery(q) })).count;
}

function ndjsonIds(outDir: string, gz = false): string[] {
  const files = readdirSync(outDir).filter((f) => f.startsWith('part-')).sort();
  return files.flatMap((f) => {
    const raw = readFileSync(join(outDir, f));
    const text = (gz ? gunzipSync(raw) : raw).toString('utf8');
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { ecs: { event: { id: string } } }).ecs.event.id);
  });
}

/** name -> SHA-256 of every data file (comparing hashes keeps a failure message short). */
function dataFiles(outDir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(outDir).filter((f) => f.startsWith('part-')).sort().map((f) => [f, createHash('sha256').update(readFileSync(join(outDir, f))).digest('hex')]));
}

beforeAll(async () => {
  await indexSynthetic(es, config, COUNT, SYN);
}, 120_000);

afterAll(async () => {
  await deleteSyntheticIndices(es, config);
  await es.close();
  rmSync(work, { recursive: true, force: true });
});

describe('export against Elasticsearch', () => {
  it('exports every matching event exactly once, split into several files, with a manifest count equal to the ES count', async () => {
    const out = dir('all');
    const result = await runExport(config, request({ outDir: out }), { es, log, coverage: fullCoverage });
    const m = result.manifest;
    const expected = await esCount(queryOf({}));
    expect(expected).toBe(COUNT);
    expect(m.total_records).toBe(expected);
    expect(m.es_count).toBe(expected);
    expect(m.files.length).toBeGreaterThan(5);
    expect(m.files.reduce((s, f) => s + f.records, 0)).toBe(expected);
    for (const f of m.files) expect(f.bytes).toBeLessThanOrEqual(64 * 1024);
    const ids = ndjsonIds(out);
    expect(ids.length).toBe(COUNT);
    expect(new Set(ids).size).toBe(COUNT);
    expect(new Set(ids)).toEqual(new Set(Array.from({ length: COUNT }, (_, i) => syntheticEntry(i, SYN).id as string)));
    expect(m.elasticsearch.indices).toEqual([`${names(config).eventsIndexPrefix}2024.01`, `${names(config).eventsIndexPrefix}2024.02`]);
    expect(m.elasticsearch.cluster_uuid).toMatch(/\S+/);
    expect(m.completeness.status).toBe('complete');
    expect(m.files[0]?.first_timestamp).toBe(FROM.toISOString());
    expect(readdirSync(out)).not.toContain(STATE_FILE);

    // The original Slack entry travels next to the ECS fields, parsed back or rebuilt.
    const lines = readFileSync(join(out, m.files[0]?.name ?? ''), 'utf8').split('\n').filter(Boolean);
    const first = JSON.parse(lines[0] ?? '{}') as { ecs: Record<string, unknown>; original: Record<string, unknown>; original_source: string };
    expect(first.original_source).toBe('reconstructed'); // event 0 is indexed without event.original
    expect(first.original.id).toBe(syntheticEntry(0, SYN).id);
    expect(first.original.date_create).toBe(START);
    const second = JSON.parse(lines[1] ?? '{}') as typeof first;
    expect(second.original_source).toBe('event.original');
    expect(second.original).toEqual(syntheticEntry(1, SYN));
    expect((second.ecs.event as Record<string, unknown>).original).toBeUndefined();

    const report = await verifyExport(out);
    expect(report.ok).toBe(true);
    expect(report.records).toBe(COUNT);

    // One changed byte in the third file: verify fails and names that file.
    const victim = m.files[2]?.name ?? '';
    const path = join(out, victim);
    const bytes = readFileSync(path);
    bytes[100] = (bytes[100] ?? 0) ^ 0x01;
    writeFileSync(path, bytes);
    const bad = await verifyExport(out);
    expect(bad.ok).toBe(false);
    expect(bad.firstBadFile).toBe(victim);
    expect(bad.summary).toContain(victim);
  });

  it('applies source, action, actor and --query filters with counts equal to ES for the same filter', async () => {
    const cases: Array<Pick<ExportQuery, 'source'> | Pick<ExportQuery, 'actions'> | Pick<ExportQuery, 'actor'> | Pick<ExportQuery, 'source' | 'query'>> = [
      { source: 'globex' },
      { actions: ['user_login', 'file_downloaded'] },
      { actor: 'W0USER0007' },
      { source: 'acme', query: { term: { 'source.ip': '203.0.113.9' } } },
    ];
    for (const c of cases) {
      const out = dir('filter');
      const { manifest } = await runExport(config, request({ outDir: out, ...c, maxFileBytes: 10 * 1024 * 1024 }), { es, log, coverage: null });
      const expected = await esCount(queryOf(c));
      expect(expected).toBeGreaterThan(0);
      expect(manifest.total_records).toBe(expected);
      expect(manifest.query).toMatchObject(c);
      expect(manifest.completeness.status).toBe('unknown');
      const ids = ndjsonIds(out);
      expect(new Set(ids).size).toBe(expected);
    }
  });

  it('writes CSV that round-trips through csv-parse (commas, quotes, newlines, Unicode)', async () => {
    const out = dir('csv');
    const { manifest } = await runExport(config, request({ outDir: out, format: 'csv', maxFileBytes: 256 * 1024 }), { es, log });
    expect(manifest.files.length).toBeGreaterThan(1);
    const rows: Array<Record<string, string>> = [];
    for (const f of manifest.files) {
      const parsed = parse<Record<string, string>>(readFileSync(join(out, f.name)), { columns: true, bom: false });
      expect(parsed.length).toBe(f.records);
      expect(Object.keys(parsed[0] ?? {})).toEqual([...CSV_COLUMNS]);
      rows.push(...parsed);
    }
    expect(rows.length).toBe(COUNT);
    const byId = new Map(rows.map((r) => [r.event_id, r]));
    for (const i of [0, 1, 2, 3, 4, 5, 6, 7, 1234, 2999]) {
      const e = syntheticEntry(i, SYN) as { id: string; action: string; actor: { user: { name: string; id: string } }; details: unknown; context: { location: { name: string } } };
      const row = byId.get(e.id);
      expect(row?.action).toBe(e.action);
      expect(row?.actor_name).toBe(e.actor.user.name);
      expect(row?.actor_id).toBe(e.actor.user.id);
      expect(row?.location_name).toBe('Example, "Eng"');
      expect(JSON.parse(row?.details_json ?? 'null')).toEqual(e.details);
      expect((JSON.parse(row?.original_json ?? 'null') as { id: string }).id).toBe(e.id);
    }
    // The fixture names include quotes, commas, a newline, emoji and Arabic; all of them survived.
    const names_ = new Set(rows.map((r) => r.actor_name));
    for (const tricky of ['Bob "The Builder" Jones', 'Chloé, Dupont', 'Dmitri\nNewline', 'Émile 😀 Zola', 'محمد علي']) expect(names_).toContain(tricky);
    expect((await verifyExport(out)).ok).toBe(true);
  });

  it('signs the manifest with HMAC and Ed25519; verify checks both and fails with a wrong key or an edited manifest', async () => {
    const keys = mkdtempSync(join(work, 'keys-'));
    writeFileSync(join(keys, 'hmac.key'), 'correct horse battery staple 42\n');
    writeFileSync(join(keys, 'wrong.key'), 'not the right key at all, sorry\n');
    const pair = generateKeyPairSync('ed25519');
    writeFileSync(join(keys, 'ed.pem'), pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(keys, 'ed.pub.pem'), pair.publicKey.export({ type: 'spki', format: 'pem' }));
    const other = generateKeyPairSync('ed25519');
    writeFileSync(join(keys, 'other.pub.pem'), other.publicKey.export({ type: 'spki', format: 'pem' }));

    const out = dir('signed');
    const signing = { hmacKey: loadHmacKey(join(keys, 'hmac.key')), ed25519PrivateKey: loadEd25519PrivateKey(join(keys, 'ed.pem')) };
    const result = await runExport(config, request({ outDir: out, actions: ['app_installed'], signing }), { es, log });
    expect(result.signed).toBe(true);

    const good = await verifyExport(out, { hmacKey: loadHmacKey(join(keys, 'hmac.key')), ed25519PublicKey: loadEd25519PublicKey(join(keys, 'ed.pub.pem')) });
    expect(good.ok).toBe(true);
    expect(good.signature).toBe('valid');
    expect(good.signatureAlgorithms.sort()).toEqual(['ed25519', 'hmac-sha256']);
    expect((await verifyExport(out)).signature).toBe('not-checked');

    const wrongHmac = await verifyExport(out, { hmacKey: loadHmacKey(join(keys, 'wrong.key')) });
    expect(wrongHmac.ok).toBe(false);
    expect(wrongHmac.firstBadFile).toBe('manifest.sig.json');
    const wrongEd = await verifyExport(out, { ed25519PublicKey: loadEd25519PublicKey(join(keys, 'other.pub.pem')) });
    expect(wrongEd.ok).toBe(false);

    // Editing a field no hash covers (the export time) is still caught by the signature.
    const manifestPath = join(out, 'manifest.json');
    writeFileSync(manifestPath, readFileSync(manifestPath, 'utf8').replace(/"exported_at": "[^"]+"/, '"exported_at": "2000-01-01T00:00:00.000Z"'));
    const edited = await verifyExport(out, { ed25519PublicKey: loadEd25519PublicKey(join(keys, 'ed.pub.pem')) });
    expect(edited.ok).toBe(false);
    expect(edited.signature).toBe('invalid');
  });

  it('fails with SLACK_AUDIT_EXPORT_INVALID on a bad range, an empty result and a missing index', async () => {
    await expect(runExport(config, request({ from: TO, to: FROM }), { es, log })).rejects.toMatchObject({ code: 'SLACK_AUDIT_EXPORT_INVALID', message: expect.stringContaining('bad time range') as unknown });
    await expect(runExport(config, request({ actor: 'W0NOBODY' }), { es, log })).rejects.toMatchObject({ code: 'SLACK_AUDIT_EXPORT_INVALID', message: expect.stringContaining('no events match') as unknown });
    const other = testConfig({}, 'export_missing');
    await expect(runExport(other, request(), { es, log })).rejects.toMatchObject({ code: 'SLACK_AUDIT_EXPORT_INVALID', message: expect.stringContaining('no events index') as unknown });
    // A directory with a finished export is not overwritten.
    const out = dir('twice');
    await runExport(config, request({ outDir: out, actions: ['user_login'] }), { es, log });
    await expect(runExport(config, request({ outDir: out, actions: ['user_login'] }), { es, log })).rejects.toMatchObject({ code: 'SLACK_AUDIT_EXPORT_INVALID' });
  });

  it('states which part of the range was not collected yet', async () => {
    const gap: [number, number] = [START + 3600, START + 7199];
    const coverage = async (id: string): Promise<Coverage> =>
      Promise.resolve(id === 'acme' ? { from: START, to: START + 86_400, pendingIngestJobs: 2, gaps: [gap] } : { from: START - 1, to: START + COUNT * 90, pendingIngestJobs: 0, gaps: [] });
    const { manifest } = await runExport(config, request({ outDir: dir('incomplete'), actions: ['user_login'] }), { es, log, coverage });
    expect(manifest.completeness.status).toBe('incomplete');
    const acme = manifest.completeness.sources.find((s) => s.source_id === 'acme');
    expect(acme?.missing).toEqual([
      { from: new Date(gap[0] * 1000).toISOString(), to: new Date(gap[1] * 1000).toISOString() },
      { from: new Date((START + 86_401) * 1000).toISOString(), to: new Date((START + COUNT * 90 - 1) * 1000).toISOString() },
    ]);
    expect(acme?.statement).toContain('2 ingest job(s)');
    expect(manifest.completeness.sources.find((s) => s.source_id === 'globex')?.status).toBe('complete');
  });

  for (const gzip of [false, true]) {
    it(`resumes an interrupted ${gzip ? 'gzip ' : ''}export to the same bytes as an uninterrupted one`, async () => {
      const reference = dir('ref');
      await runExport(config, request({ outDir: reference, gzip, maxFileBytes: 100 * 1024 }), { es, log });

      const out = dir('resumed');
      let pages = 0;
      const crashAfter: ExportProgress = {
        start: () => undefined,
        update: () => {
          if (++pages === 7) throw new Error('simulated crash');
        },
        stop: () => undefined,
      };
      await expect(runExport(config, request({ outDir: out, gzip, maxFileBytes: 100 * 1024 }), { es, log, progress: crashAfter })).rejects.toThrow('simulated crash');
      expect(readdirSync(out)).toContain(STATE_FILE);
      // What a kill -9 can leave behind: bytes past the last checkpoint and a file the state never named.
      const state = JSON.parse(readFileSync(join(out, STATE_FILE), 'utf8')) as { current: { name: string } | null };
      if (state.current) appendFileSync(join(out, state.current.name), '{"half a rec');
      writeFileSync(join(out, `part-00099.ndjson${gzip ? '.gz' : ''}`), 'stray');

      await expect(runExport(config, request({ outDir: out, gzip, maxFileBytes: 100 * 1024 }), { es, log })).rejects.toMatchObject({ message: expect.stringContaining('--resume') as unknown });
      const resumed = await runExport(config, request({ outDir: out, gzip, maxFileBytes: 100 * 1024, resume: true }), { es, log });
      expect(resumed.resumed).toBe(true);
      expect(resumed.manifest.resumes).toBe(1);
      expect(dataFiles(out)).toEqual(dataFiles(reference));
      expect(new Set(ndjsonIds(out, gzip)).size).toBe(COUNT);
      expect((await verifyExport(out)).ok).toBe(true);
      // A second --resume finds the finished export and changes nothing.
      expect((await runExport(config, request({ outDir: out, gzip, maxFileBytes: 100 * 1024, resume: true }), { es, log })).alreadyComplete).toBe(true);
    });
  }

  it('runs the scheduled daily export of the previous UTC day once', async () => {
    const daily = dir('daily');
    const cfg = { ...config, export: { ...config.export, daily: { enabled: true, dir: daily, format: 'csv' as const } } };
    const now = new Date(Date.UTC(2024, 0, 31, 5, 0, 0));
    const first = await runDailyExport(cfg, now, { es, log, coverage: null });
    expect(first.status).toBe('exported');
    if (first.status !== 'exported') return;
    expect(first.dir).toBe(join(daily, '2024-01-30'));
    expect(first.result.manifest.query.from).toBe('2024-01-30T00:00:00.000Z');
    expect(first.result.manifest.total_records).toBe(960); // 86400 / 90
    expect((await verifyExport(first.dir)).ok).toBe(true);
    expect((await runDailyExport(cfg, now, { es, log, coverage: null })).status).toBe('skipped');
    // An empty day still gets a manifest on record.
    const empty = await runDailyExport(cfg, new Date(Date.UTC(2024, 0, 20, 1)), { es, log, coverage: null });
    expect(empty.status === 'exported' && empty.result.manifest.total_records).toBe(0);
  });
});
