import type { Client, estypes } from '@elastic/elasticsearch';
import { names } from '../config/load.js';
import type { Config } from '../config/schema.js';

/**
 * Deterministic synthetic events for the export tests and scripts/export-memory-check.ts: Slack entries with
 * awkward text (commas, quotes, newlines, emoji, RTL), turned into documents shaped like the normalizer's
 * output, indexed into the namespace's monthly indices by their own date_create. Not used by the pipeline.
 */

const ACTIONS = ['user_login', 'file_downloaded', 'user_session_reset_by_admin', 'app_installed', 'user_channel_join', 'pref.sso_setting_changed'];
const NAMES = ['Alice Smith', 'Bob "The Builder" Jones', 'Chloé, Dupont', 'Dmitri\nNewline', 'Émile 😀 Zola', 'محمد علي', 'Plain Name'];

/** mulberry32: a tiny seeded PRNG, so the same (seed, index) always gives the same event. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SyntheticOptions {
  seed?: number;
  /** Unix seconds of the first event. */
  startSec: number;
  /** Seconds between consecutive events (several events share a second when < 1). */
  spacingSec?: number;
  sourceIds?: readonly string[];
  /** Every n-th document is indexed without event.original (0: never). */
  dropOriginalEvery?: number;
}

export function syntheticEntry(i: number, opts: SyntheticOptions): Record<string, unknown> {
  const r = rng((opts.seed ?? 1) * 1_000_003 + i);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)] as T;
  const dateCreate = opts.startSec + Math.floor(i * (opts.spacingSec ?? 1));
  const actorN = Math.floor(r() * 50);
  const targetN = Math.floor(r() * 50);
  const action = pick(ACTIONS);
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  return {
    id: `${hex(opts.seed ?? 1)}-${hex(i).slice(0, 4)}-4${hex(i).slice(5)}-a000-${String(i).padStart(12, '0')}`,
    date_create: dateCreate,
    action,
    actor: { type: 'user', user: { id: `W0USER${String(actorN).padStart(4, '0')}`, name: pick(NAMES), email: `user${actorN}@example.com`, team: 'T0WSPACE01' } },
    entity: { type: 'user', user: { id: `W0USER${String(targetN).padStart(4, '0')}`, name: pick(NAMES), email: `user${targetN}@example.com`, team: 'T0WSPACE01' } },
    context: {
      location: { type: 'workspace', id: 'T0WSPACE01', name: 'Example, "Eng"', domain: 'example-eng' },
      ua: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
      ip_address: `203.0.113.${Math.floor(r() * 250) + 1}`,
      session_id: r() < 0.5 ? null : 900000000000 + i,
    },
    details: { note: `line one\nline "two", ${pick(NAMES)}`, n: i, flag: r() < 0.5 },
  };
}

export function syntheticDoc(entry: Record<string, unknown>, sourceId: string, keepOriginal: boolean): Record<string, unknown> {
  const e = entry as {
    id: string;
    date_create: number;
    action: string;
    actor: { type: string; user: { id: string; name: string; email: string; team: string } };
    entity: { type: string; user: { id: string; name: string; email: string; team: string } };
    context: { location: Record<string, string>; ua: string; ip_address: string; session_id: number | null };
    details: Record<string, unknown>;
  };
  const iso = new Date(e.date_create * 1000).toISOString();
  const event: Record<string, unknown> = { kind: 'event', module: 'slack', dataset: 'slack.audit', id: e.id, action: e.action, category: ['iam'], type: ['info'], created: iso };
  if (keepOriginal) event.original = JSON.stringify(entry);
  return {
    '@timestamp': iso,
    event,
    user: { id: e.actor.user.id, email: e.actor.user.email, full_name: e.actor.user.name, target: { id: e.entity.user.id, email: e.entity.user.email, full_name: e.entity.user.name } },
    source: { address: e.context.ip_address, ip: e.context.ip_address, geo: { country_iso_code: 'GB', city_name: 'London' } },
    user_agent: { original: e.context.ua },
    slack: {
      audit: {
        date_create: iso,
        source_id: sourceId,
        actor: { type: e.actor.type, team: e.actor.user.team },
        entity: { entity_type: 'user', id: e.entity.user.id, name: e.entity.user.name, email: e.entity.user.email, team: e.entity.user.team },
        context: { ...e.context.location, ...(e.context.session_id === null ? {} : { session_id: String(e.context.session_id) }) },
        details: e.details,
      },
    },
  };
}

/** A minimal explicit mapping with the fields the export sorts and filters on (the sink's templates are richer). */
export const SYNTHETIC_MAPPING: estypes.MappingTypeMapping = {
  dynamic_templates: [{ strings: { match_mapping_type: 'string', mapping: { type: 'keyword', ignore_above: 8191 } } }],
  properties: {
    '@timestamp': { type: 'date' },
    event: { properties: { id: { type: 'keyword' }, action: { type: 'keyword' }, original: { type: 'keyword', index: false, doc_values: false } } },
    user: { properties: { id: { type: 'keyword' } } },
    slack: { properties: { audit: { properties: { source_id: { type: 'keyword' }, details: { type: 'flattened' }, context: { type: 'flattened' } } } } },
  },
};

function monthIndex(prefix: string, sec: number): string {
  const d = new Date(sec * 1000);
  return `${prefix}${d.getUTCFullYear()}.${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** Index `count` synthetic events (bulk, refresh at the end). Returns the concrete indices written. */
export async function indexSynthetic(es: Client, config: Pick<Config, 'namespace' | 'redis'>, count: number, opts: SyntheticOptions, batch = 2000): Promise<string[]> {
  const n = names(config);
  const sources = opts.sourceIds ?? ['default'];
  const created = new Set<string>();
  for (let start = 0; start < count; start += batch) {
    const operations: unknown[] = [];
    for (let i = start; i < Math.min(count, start + batch); i++) {
      const entry = syntheticEntry(i, opts);
      const index = monthIndex(n.eventsIndexPrefix, entry.date_create as number);
      if (!created.has(index)) {
        const exists = await es.indices.exists({ index });
        if (!exists) {
          await es.indices.create({ index, settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: '-1' }, mappings: SYNTHETIC_MAPPING, aliases: { [n.eventsAlias]: {} } });
        }
        created.add(index);
      }
      const keep = !(opts.dropOriginalEvery && i % opts.dropOriginalEvery === 0);
      operations.push({ create: { _index: index, _id: entry.id } }, syntheticDoc(entry, sources[i % sources.length] ?? 'default', keep));
    }
    const res = await es.bulk({ operations });
    if (res.errors) {
      const bad = res.items.find((it) => it.create?.error && it.create.status !== 409);
      if (bad) throw new Error(`synthetic bulk failed: ${JSON.stringify(bad.create?.error)}`);
    }
  }
  await es.indices.refresh({ index: [...created].join(',') });
  return [...created].sort();
}

/** Delete the namespace's event indices (only call it for a throwaway test namespace). */
export async function deleteSyntheticIndices(es: Client, config: Pick<Config, 'namespace' | 'redis'>): Promise<void> {
  // ES 8 refuses wildcard deletes (action.destructive_requires_name): resolve to concrete names first.
  const res = await es.indices.resolveIndex({ name: names(config).eventsPattern });
  const indices = res.indices.map((i) => i.name);
  if (indices.length > 0) await es.indices.delete({ index: indices.join(','), ignore_unavailable: true });
}
