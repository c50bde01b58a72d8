/**
 * Structural checks of the committed Kibana saved objects (no Kibana runs in CI): valid saved-object NDJSON,
 * references resolve inside the file, every field a search or Lens panel uses exists in our index templates
 * (config/elasticsearch/<part>-mappings.json) with an aggregatable type where Lens aggregates it, and the
 * data view patterns match the index names `setup` creates.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PROJECT_ROOT, names } from '../../src/config/load.js';
import { DATA_VIEWS, savedObjects, toNdjson, type DataViewKey, type SavedObject } from '../../src/kibana/objects.js';
import { KIBANA_NDJSON, forNamespace, parseSavedObjects } from '../../src/kibana/import.js';

const text = readFileSync(KIBANA_NDJSON, 'utf8');
const objects = parseSavedObjects(text);
const byId = new Map(objects.map((o) => [o.id, o]));

const searchSourceSchema = z.object({ query: z.object({ query: z.string(), language: z.literal('kuery') }), filter: z.array(z.unknown()), indexRefName: z.string().optional() }).loose();
const columnSchema = z.object({ operationType: z.string(), sourceField: z.string().optional(), dataType: z.string(), isBucketed: z.boolean() }).loose();
const lensStateSchema = z.object({
  datasourceStates: z.object({ formBased: z.object({ layers: z.record(z.string(), z.object({ columns: z.record(z.string(), columnSchema), columnOrder: z.array(z.string()) })) }) }),
  visualization: z.record(z.string(), z.unknown()),
  query: z.object({ query: z.string(), language: z.literal('kuery') }),
});
const panelSchema = z.array(z.object({ type: z.string(), panelIndex: z.string(), panelRefName: z.string(), gridData: z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number(), i: z.string() }) }));

function dataViewKeyOf(id: string): DataViewKey {
  const entry = Object.entries(DATA_VIEWS).find(([, v]) => v.id === id);
  if (!entry) throw new Error(`${id} is not one of our data views`);
  return entry[0] as DataViewKey;
}

function ref(o: SavedObject, name: string): SavedObject {
  const r = o.references.find((x) => x.name === name);
  if (!r) throw new Error(`${o.type}/${o.id} has no reference named ${name}`);
  const target = byId.get(r.id);
  if (!target) throw new Error(`${o.type}/${o.id} references ${r.type}/${r.id}, which is not in the file`);
  return target;
}

/** Field names a KQL query filters on (`field : value`). */
function kqlFields(query: string): string[] {
  return [...query.matchAll(/(?:^|[\s(])([A-Za-z_@][\w.@]*)\s*:/g)].map((m) => m[1] as string);
}

// ---- the mappings from config/elasticsearch/ ----

interface FieldInfo {
  type: string;
}
type Mapping = z.infer<typeof mappingNode>;
const mappingNode: z.ZodType<{ type?: string | undefined; properties?: Record<string, Mapping> | undefined; fields?: Record<string, { type?: string | undefined }> | undefined }> = z.lazy(() =>
  z.object({ type: z.string().optional(), properties: z.record(z.string(), mappingNode).optional(), fields: z.record(z.string(), z.object({ type: z.string().optional() }).loose()).optional() }).loose(),
);
const templateFile = z.object({ template: z.object({ mappings: z.object({ properties: z.record(z.string(), mappingNode) }).loose() }).loose() }).loose();

function flatten(prefix: string, props: Record<string, Mapping>, out: Map<string, FieldInfo>): Map<string, FieldInfo> {
  for (const [k, v] of Object.entries(props)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v.properties) flatten(path, v.properties, out);
    if (v.type) out.set(path, { type: v.type });
    for (const [sub, sv] of Object.entries(v.fields ?? {})) out.set(`${path}.${sub}`, { type: sv.type ?? 'object' });
  }
  return out;
}

const ES_DIR = resolve(PROJECT_ROOT, 'config', 'elasticsearch');
const mappingFiles = readdirSync(ES_DIR).filter((f) => f.endsWith('-mappings.json'));
function fieldsOf(view: DataViewKey): Map<string, FieldInfo> {
  const file = `${view}-mappings.json`;
  if (!mappingFiles.includes(file)) throw new Error(`config/elasticsearch/${file} is missing (found: ${mappingFiles.join(', ') || 'none'})`);
  const parsed = templateFile.parse(JSON.parse(readFileSync(resolve(ES_DIR, file), 'utf8')));
  return flatten('', parsed.template.mappings.properties, new Map());
}

/** Exact field, or a key inside a `flattened` field (e.g. slack.audit.details.reason). */
function lookup(fields: Map<string, FieldInfo>, field: string): FieldInfo | undefined {
  const hit = fields.get(field);
  if (hit) return hit;
  const parts = field.split('.');
  for (let i = parts.length - 1; i > 0; i--) {
    const parent = fields.get(parts.slice(0, i).join('.'));
    if (parent?.type === 'flattened') return { type: 'keyword' };
  }
  return undefined;
}

const AGGREGATABLE = new Set(['keyword', 'long', 'integer', 'short', 'byte', 'double', 'float', 'date', 'date_nanos', 'ip', 'boolean']);

/** Every (view, field, aggregated?) that the saved objects use. */
function usedFields(): { view: DataViewKey; field: string; aggregated: boolean; by: string }[] {
  const out: { view: DataViewKey; field: string; aggregated: boolean; by: string }[] = [];
  for (const o of objects) {
    const by = `${o.type}/${o.id}`;
    if (o.type === 'index-pattern') {
      out.push({ view: dataViewKeyOf(o.id), field: String(o.attributes.timeFieldName), aggregated: true, by });
    } else if (o.type === 'search') {
      const view = dataViewKeyOf(ref(o, 'kibanaSavedObjectMeta.searchSourceJSON.index').id);
      const meta = z.object({ searchSourceJSON: z.string() }).parse(o.attributes.kibanaSavedObjectMeta);
      const source = searchSourceSchema.parse(JSON.parse(meta.searchSourceJSON));
      for (const f of kqlFields(source.query.query)) out.push({ view, field: f, aggregated: false, by });
      for (const f of z.array(z.string()).parse(o.attributes.columns)) out.push({ view, field: f, aggregated: false, by });
      for (const [f] of z.array(z.tuple([z.string(), z.string()])).parse(o.attributes.sort)) out.push({ view, field: f, aggregated: true, by });
    } else if (o.type === 'lens') {
      const state = lensStateSchema.parse(o.attributes.state);
      for (const f of kqlFields(state.query.query)) out.push({ view: dataViewKeyOf(ref(o, 'indexpattern-datasource-current-indexpattern').id), field: f, aggregated: false, by });
      for (const [layerId, layer] of Object.entries(state.datasourceStates.formBased.layers)) {
        const view = dataViewKeyOf(ref(o, `indexpattern-datasource-layer-${layerId}`).id);
        for (const col of Object.values(layer.columns)) {
          if (col.sourceField && col.sourceField !== '___records___') out.push({ view, field: col.sourceField, aggregated: true, by });
        }
      }
    }
  }
  return out;
}

describe('config/kibana/slack-audit.ndjson', () => {
  it('is what src/kibana/objects.ts generates (run `node dist/src/kibana/write-ndjson.js` after a build if not)', () => {
    expect(text).toBe(toNdjson(savedObjects()));
  });

  it('is valid saved-object NDJSON: one object per line, unique ids, migration versions set', () => {
    const lines = text.trimEnd().split('\n');
    expect(lines.length).toBe(objects.length);
    for (const line of lines) {
      const o = z.object({ type: z.string(), id: z.string(), attributes: z.record(z.string(), z.unknown()), references: z.array(z.unknown()), coreMigrationVersion: z.string(), typeMigrationVersion: z.string() }).parse(JSON.parse(line));
      expect(o.attributes.title, `${o.type}/${o.id} has a title`).toEqual(expect.any(String));
    }
    expect(new Set(objects.map((o) => `${o.type}/${o.id}`)).size).toBe(objects.length);
  });

  it('has the promised objects: 3 data views, the 5 saved searches, a dashboard with the 5 required panels', () => {
    const titles = (type: string) => objects.filter((o) => o.type === type).map((o) => String(o.attributes.title));
    expect(titles('index-pattern').sort()).toEqual(['logs-slack.audit-*', 'slack-audit-actions-*', 'slack-audit-alerts-*']);
    expect(titles('search').join('\n')).toMatch(/admin[\s\S]*anomalies[\s\S]*logins by country[\s\S]*file downloads[\s\S]*app installs/i);
    const dash = objects.filter((o) => o.type === 'dashboard');
    expect(dash).toHaveLength(1);
    const panels = dash[0]?.references.map((r) => String(byId.get(r.id)?.attributes.title)) ?? [];
    for (const t of ['Events over time by category', 'Top actors', 'Anomalies', 'Alerts by rule and severity', 'Response actions by outcome']) {
      expect(panels.some((p) => p.startsWith(t)), `dashboard panel "${t}"`).toBe(true);
    }
  });

  it('every reference resolves to an object in the file, with the right type', () => {
    for (const o of objects) {
      for (const r of o.references) {
        const target = byId.get(r.id);
        expect(target, `${o.type}/${o.id} -> ${r.type}/${r.id}`).toBeDefined();
        expect(target?.type).toBe(r.type);
      }
    }
  });

  it('searches, Lens layers and dashboard panels name the references they use', () => {
    for (const o of objects) {
      if (o.type === 'search') {
        const meta = z.object({ searchSourceJSON: z.string() }).parse(o.attributes.kibanaSavedObjectMeta);
        const source = searchSourceSchema.parse(JSON.parse(meta.searchSourceJSON));
        expect(ref(o, source.indexRefName ?? '').type).toBe('index-pattern');
      }
      if (o.type === 'lens') {
        const state = lensStateSchema.parse(o.attributes.state);
        for (const [layerId, layer] of Object.entries(state.datasourceStates.formBased.layers)) {
          expect(ref(o, `indexpattern-datasource-layer-${layerId}`).type).toBe('index-pattern');
          expect(Object.keys(layer.columns).sort()).toEqual([...layer.columnOrder].sort());
        }
        const vis = JSON.stringify(state.visualization);
        const columnIds = Object.values(state.datasourceStates.formBased.layers).flatMap((l) => Object.keys(l.columns));
        for (const accessor of vis.match(/"(?:xAccessor|splitAccessor|columnId)":"([^"]+)"/g) ?? []) {
          expect(columnIds, `${o.id}: ${accessor}`).toContain(accessor.split(':')[1]?.replace(/"/g, ''));
        }
      }
      if (o.type === 'dashboard') {
        const panels = panelSchema.parse(JSON.parse(String(o.attributes.panelsJSON)));
        expect(panels.length).toBeGreaterThanOrEqual(5);
        for (const p of panels) expect(ref(o, `${p.panelIndex}:${p.panelRefName}`).type).toBe(p.type);
        // Panels must fit Kibana's 48-column grid without overlapping.
        for (const p of panels) expect(p.gridData.x + p.gridData.w).toBeLessThanOrEqual(48);
        for (const [i, a] of panels.entries()) {
          for (const b of panels.slice(i + 1)) {
            const overlap = a.gridData.x < b.gridData.x + b.gridData.w && b.gridData.x < a.gridData.x + a.gridData.w && a.gridData.y < b.gridData.y + b.gridData.h && b.gridData.y < a.gridData.y + a.gridData.h;
            expect(overlap, `${a.panelIndex} overlaps ${b.panelIndex}`).toBe(false);
          }
        }
      }
    }
  });

  it('every field a search or visualization uses exists in our index templates (aggregatable where Lens aggregates it)', () => {
    const used = usedFields();
    expect(used.length).toBeGreaterThan(30);
    const problems: string[] = [];
    for (const u of used) {
      const info = lookup(fieldsOf(u.view), u.field);
      if (!info) problems.push(`${u.by}: field "${u.field}" is not in config/elasticsearch/${u.view}-mappings.json`);
      else if (u.aggregated && !AGGREGATABLE.has(info.type)) problems.push(`${u.by}: field "${u.field}" is ${info.type}, which Lens cannot aggregate`);
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('the conformance fields the issue names are all used and mapped', () => {
    const used = new Set(usedFields().map((u) => u.field));
    for (const f of ['event.action', 'event.category', 'user.email', 'user.target.id', 'source.geo.country_iso_code', 'source.geo.country_name', 'source.as.organization.name', 'slack.audit.details.reason', 'rule.name', 'event.severity', 'slack.response.outcome', 'slack.response.action']) {
      expect(used.has(f), f).toBe(true);
    }
  });
});

/** Kibana data view titles: comma-separated index patterns with `*` wildcards. */
function matches(title: string, index: string): boolean {
  return title.split(',').some((p) => new RegExp(`^${p.trim().split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(index));
}

describe('data view patterns vs the index names setup creates (names())', () => {
  const cfg = (namespace: string) => ({ namespace, redis: { url: 'redis://x', prefix: 'p' } });
  const indicesOf = (namespace: string) => {
    const n = names(cfg(namespace));
    return { events: [`${n.eventsIndexPrefix}2026.01`, `${n.eventsIndexPrefix}2019.12`], alerts: [n.alertsIndex], actions: [n.actionsIndex] };
  };

  it('the committed (all-namespace) views match every namespace and not each other', () => {
    for (const ns of ['default', 'prod_eu', 'x1']) {
      const idx = indicesOf(ns);
      for (const key of ['events', 'alerts', 'actions'] as const) {
        for (const i of idx[key]) expect(matches(DATA_VIEWS[key].title, i), `${DATA_VIEWS[key].title} ~ ${i}`).toBe(true);
      }
      expect(matches(DATA_VIEWS.events.title, names(cfg(ns)).dlqIndex)).toBe(false);
      expect(matches(DATA_VIEWS.alerts.title, names(cfg(ns)).actionsIndex)).toBe(false);
    }
  });

  it('namespaced views (setup --kibana) match their own namespace only', () => {
    const mine = forNamespace(objects, 'prod');
    const titleOf = (key: DataViewKey) => String(mine.find((o) => o.id === `${DATA_VIEWS[key].id}-prod`)?.attributes.title);
    const own = indicesOf('prod');
    const other = indicesOf('prod_eu');
    for (const key of ['events', 'alerts', 'actions'] as const) {
      for (const i of own[key]) expect(matches(titleOf(key), i), `${titleOf(key)} ~ ${i}`).toBe(true);
      for (const i of other[key]) expect(matches(titleOf(key), i), `${titleOf(key)} !~ ${i}`).toBe(false);
    }
  });

  it('namespacing rewrites every id and keeps every reference resolvable', () => {
    const mine = forNamespace(objects, 'prod');
    const ids = new Set(mine.map((o) => o.id));
    expect([...ids].every((id) => id.endsWith('-prod'))).toBe(true);
    for (const o of mine) for (const r of o.references) expect(ids.has(r.id), `${o.id} -> ${r.id}`).toBe(true);
    expect(forNamespace(objects, '*')).toEqual(objects);
  });
});
