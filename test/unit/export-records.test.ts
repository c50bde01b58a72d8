import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CSV_COLUMNS, csvHeader, csvLine, getPath, ndjsonLine, originalEntry, reconstructOriginal } from '../../src/export/records.js';
import { syntheticDoc, syntheticEntry } from '../../src/export/synthetic-events.js';

const entry = syntheticEntry(3, { seed: 5, startSec: 1_700_000_000 });

describe('export records', () => {
  it('reads dotted ECS paths from nested objects, dotted keys and mixes', () => {
    const doc = { user: { id: 'U1', target: { id: 'U2' } }, 'source.ip': '1.2.3.4', slack: { 'audit.details': { a: 1 } } };
    expect(getPath(doc, 'user.id')).toBe('U1');
    expect(getPath(doc, 'user.target.id')).toBe('U2');
    expect(getPath(doc, 'source.ip')).toBe('1.2.3.4');
    expect(getPath(doc, 'slack.audit.details')).toEqual({ a: 1 });
    expect(getPath(doc, 'user.email')).toBeUndefined();
  });

  it('NDJSON carries the ECS document without event.original and the parsed Slack entry', () => {
    const line = ndjsonLine(syntheticDoc(entry, 'acme', true));
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    const rec = JSON.parse(line) as { ecs: { event: Record<string, unknown> }; original: unknown; original_source: string };
    expect(rec.original).toEqual(entry);
    expect(rec.original_source).toBe('event.original');
    expect(rec.ecs.event.original).toBeUndefined();
    expect(rec.ecs.event.id).toBe(entry.id);
  });

  it('rebuilds the entry from ECS fields when event.original is absent or not JSON', () => {
    const doc = syntheticDoc(entry, 'acme', false);
    const rebuilt = reconstructOriginal(doc);
    const e = entry as { id: string; date_create: number; action: string; actor: unknown; entity: unknown; details: unknown; context: { ip_address: string; ua: string; location: unknown } };
    expect(rebuilt).toMatchObject({ id: e.id, date_create: e.date_create, action: e.action, actor: e.actor, entity: e.entity, details: e.details });
    expect(rebuilt.context).toMatchObject({ ip_address: e.context.ip_address, ua: e.context.ua, location: e.context.location });
    const broken = { ...doc, event: { ...(doc.event as object), original: 'not json{' } };
    expect(originalEntry(broken).source).toBe('reconstructed');
  });

  it('CSV rows parse back to the same values, whatever the text holds', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ maxLength: 40 }), (name, note) => {
        const doc = syntheticDoc({ ...entry, actor: { type: 'user', user: { id: 'W1', name, email: 'a@b.c', team: 'T1' } }, details: { note } }, 'acme', true);
        const rows = parse<Record<string, string>>(csvHeader() + csvLine(doc), { columns: true });
        expect(rows).toHaveLength(1);
        expect(rows[0]?.actor_name).toBe(name);
        expect(JSON.parse(rows[0]?.details_json ?? 'null')).toEqual({ note });
        expect(Object.keys(rows[0] ?? {})).toEqual([...CSV_COLUMNS]);
      }),
      { numRuns: 200 },
    );
  });

  it('quotes commas, quotes, CR/LF and leaves plain Unicode alone', () => {
    const doc = syntheticDoc({ ...entry, actor: { type: 'user', user: { id: 'W1', name: 'a,"b"\r\nc', email: 'x@y.z', team: 'T' } } }, 'acme', true);
    expect(csvLine(doc)).toContain('"a,""b""\r\nc"');
    const uni = syntheticDoc({ ...entry, actor: { type: 'user', user: { id: 'W1', name: 'Émile 😀 محمد', email: 'x@y.z', team: 'T' } } }, 'acme', true);
    expect(csvLine(uni)).toContain(',Émile 😀 محمد,');
  });
});
