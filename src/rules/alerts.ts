import type { Client } from '@elastic/elasticsearch';
import { occUpsert } from '../sink/occ-upsert.js';
import { scrubSecrets } from '../observe/secrets.js';
import type { AlertHit, CompiledRule } from './evaluate.js';
import { compileGetter, scalars, type EcsDocument } from './fields.js';
import { SEVERITY_SCORE } from './schema.js';

/**
 * Alert documents for `slack-audit-alerts-<ns>`. The `_id` is the deterministic alert id (rule + group +
 * window bucket), and writes are scripted upserts: a replay or a repeat hit inside the suppression period
 * folds into the existing alert (event ids merged as a set, count grown, last seen moved) instead of adding one.
 */
export interface AlertTarget {
  id: string;
  email?: string;
  name?: string;
}

export interface AlertDocument extends Record<string, unknown> {
  '@timestamp': string;
  event: Record<string, unknown>;
  rule: Record<string, unknown>;
  slack: { alert: AlertFields };
}

export interface AlertFields {
  id: string;
  rule_type: string;
  severity: string;
  group: { key: string; fields: Record<string, string> };
  /** The group key again at the name the alerts index template maps (keyword). */
  group_key: string;
  bucket: string;
  event_ids: string[];
  count: number;
  first_seen: string;
  last_seen: string;
  new_value?: string;
  source_id?: string;
  actions: unknown[];
}

const G = {
  actorId: compileGetter('user.id'),
  actorEmail: compileGetter('user.email'),
  actorName: compileGetter('user.full_name'),
  actorName2: compileGetter('user.name'),
  targetId: compileGetter('user.target.id'),
  targetEmail: compileGetter('user.target.email'),
  targetName: compileGetter('user.target.name'),
  targetName2: compileGetter('user.target.full_name'),
  orgId: compileGetter('organization.id'),
  orgName: compileGetter('organization.name'),
  sourceIp: compileGetter('source.ip'),
};
const first = (v: unknown): string | undefined => {
  const s = scalars(v)[0];
  return s === undefined || s === '' ? undefined : String(s);
};

/** Who the alert is about, per the rule's `target` setting. */
export function alertTarget(rule: CompiledRule, doc: EcsDocument): AlertTarget | undefined {
  let mode = rule.rule.target;
  if (mode === 'auto') {
    const g = rule.groupBy[0]?.path.split('|')[0] ?? '';
    if (g.startsWith('user.target.')) mode = 'target';
    else if (g.startsWith('user.')) mode = 'actor';
    else mode = first(G.targetId(doc)) !== undefined ? 'target' : 'none';
  }
  if (mode === 'none') return undefined;
  const id = first(mode === 'actor' ? G.actorId(doc) : G.targetId(doc));
  if (id === undefined) return undefined;
  const email = first(mode === 'actor' ? G.actorEmail(doc) : G.targetEmail(doc));
  const name = first(mode === 'actor' ? (G.actorName(doc) ?? G.actorName2(doc)) : (G.targetName(doc) ?? G.targetName2(doc)));
  return { id, ...(email ? { email } : {}), ...(name ? { name } : {}) };
}

export function buildAlertDocument(hit: AlertHit, opts: { now?: number; sourceId?: string } = {}): AlertDocument {
  const r = hit.rule.rule;
  const target = alertTarget(hit.rule, hit.representative);
  const iso = (ms: number) => new Date(ms).toISOString();
  const threat =
    r.threat.length > 0
      ? {
          framework: 'MITRE ATT&CK',
          tactic: { id: [...new Set(r.threat.map((t) => t.tactic.id))], name: [...new Set(r.threat.map((t) => t.tactic.name))] },
          ...(r.threat.some((t) => t.technique)
            ? {
                technique: {
                  id: [...new Set(r.threat.flatMap((t) => (t.technique ? [t.technique.id] : [])))],
                  name: [...new Set(r.threat.flatMap((t) => (t.technique ? [t.technique.name] : [])))],
                },
              }
            : {}),
        }
      : undefined;
  const orgId = first(G.orgId(hit.representative));
  const orgName = first(G.orgName(hit.representative));
  const doc: AlertDocument = {
    '@timestamp': iso(hit.firstSeen),
    event: {
      kind: 'alert',
      id: hit.alertId,
      module: 'slack',
      dataset: 'slack.audit',
      severity: SEVERITY_SCORE[r.severity],
      risk_score: SEVERITY_SCORE[r.severity],
      created: iso(opts.now ?? Date.now()),
      start: iso(hit.firstSeen),
      end: iso(hit.lastSeen),
    },
    rule: {
      id: r.id,
      name: r.name,
      description: r.description,
      reference: r.reference,
      category: r.type,
      ruleset: 'slack-audit',
    },
    ...(threat ? { threat } : {}),
    ...(target ? { user: { target: { id: target.id, ...(target.email ? { email: target.email } : {}), ...(target.name ? { name: target.name } : {}) } } } : {}),
    ...(orgId ? { organization: { id: orgId, ...(orgName ? { name: orgName } : {}) } } : {}),
    ...(r.tags.length > 0 ? { tags: r.tags } : {}),
    slack: {
      alert: {
        id: hit.alertId,
        rule_type: r.type,
        severity: r.severity,
        group: { key: hit.groupKey, fields: hit.groupValues },
        group_key: hit.groupKey,
        bucket: hit.bucket,
        event_ids: hit.eventIds,
        count: hit.count,
        first_seen: iso(hit.firstSeen),
        last_seen: iso(hit.lastSeen),
        ...(hit.newValue !== undefined ? { new_value: hit.newValue } : {}),
        ...(opts.sourceId ? { source_id: opts.sourceId } : {}),
        actions: [],
      },
    },
  };
  return scrubSecrets(doc);
}

/**
 * Merge a repeat hit into an existing alert (pure; used by every sink). Event ids are a set capped at `cap`;
 * ids beyond the cap still grow the count (exact below the cap). Returns null when nothing changed, so a
 * replay is a no-op.
 */
export function mergeAlert(prev: AlertDocument, incoming: AlertDocument, cap: number, now: string): AlertDocument | null {
  const a = prev.slack.alert;
  const d = incoming.slack.alert;
  const ids = Array.isArray(a.event_ids) ? a.event_ids : [];
  a.event_ids = ids;
  const set = new Set(ids);
  let extra = 0;
  for (const e of d.event_ids) {
    if (set.has(e)) continue;
    extra++;
    if (ids.length < cap) ids.push(e);
    set.add(e);
  }
  const cur = typeof a.count === 'number' ? a.count : 0;
  a.count = Math.max(d.rule_type === 'match' ? cur + extra : Math.max(cur, d.count), ids.length);
  let changed = extra > 0 || a.count !== cur;
  // Documents read back from ES may predate a field: stay defensive about its presence.
  const event: Record<string, unknown> = (prev as { event?: Record<string, unknown> }).event ?? {};
  if (d.first_seen < a.first_seen) {
    a.first_seen = d.first_seen;
    event.start = d.first_seen;
    (prev as Record<string, unknown>)['@timestamp'] = d.first_seen;
    changed = true;
  }
  if (d.last_seen > a.last_seen) {
    a.last_seen = d.last_seen;
    event.end = d.last_seen;
    changed = true;
  }
  if (!changed) return null;
  event.updated = now;
  (prev as Record<string, unknown>).event = event;
  return prev;
}

export interface AlertWriteResult {
  alertId: string;
  result: 'created' | 'updated' | 'noop';
  doc: AlertDocument;
}

export interface AlertSink {
  upsert(docs: readonly AlertDocument[]): Promise<AlertWriteResult[]>;
}

/** Elasticsearch alert sink: one bulk request of scripted upserts per batch. */
export class EsAlertSink implements AlertSink {
  constructor(
    private readonly es: Client,
    private readonly index: string,
    private readonly cap = 200,
  ) {}

  async upsert(docs: readonly AlertDocument[]): Promise<AlertWriteResult[]> {
    if (docs.length === 0) return [];
    // Several hits of one batch can share an alert id: fold them first, then one guarded write per alert.
    const byId = new Map<string, AlertDocument[]>();
    for (const d of docs) byId.set(d.slack.alert.id, [...(byId.get(d.slack.alert.id) ?? []), d]);
    const now = new Date().toISOString();
    const written = await occUpsert<AlertDocument>(this.es, this.index, [...byId.keys()], (id, current) => {
      const incoming = byId.get(id) ?? [];
      let doc = current;
      let changed = false;
      for (const d of incoming) {
        if (doc === undefined) {
          doc = structuredClone(d);
          changed = true;
          continue;
        }
        const merged = mergeAlert(doc, d, this.cap, now);
        if (merged !== null) {
          doc = merged;
          changed = true;
        }
      }
      return changed && doc !== undefined ? doc : null;
    });
    return docs.map((d) => {
      const w = written.get(d.slack.alert.id);
      return { alertId: d.slack.alert.id, result: w?.result ?? 'noop', doc: w?.doc ?? d };
    });
  }
}

/** In-memory sink with the same merge semantics (used by `rules test` and unit tests). */
export class MemoryAlertSink implements AlertSink {
  readonly alerts = new Map<string, AlertDocument>();
  constructor(private readonly cap = 200) {}

  upsert(docs: readonly AlertDocument[]): Promise<AlertWriteResult[]> {
    return Promise.resolve(
      docs.map((d) => {
        const id = d.slack.alert.id;
        const prev = this.alerts.get(id);
        if (!prev) {
          this.alerts.set(id, structuredClone(d));
          return { alertId: id, result: 'created' as const, doc: d };
        }
        const merged = mergeAlert(prev, d, this.cap, new Date().toISOString());
        const changed = merged !== null;
        return { alertId: id, result: changed ? ('updated' as const) : ('noop' as const), doc: prev };
      }),
    );
  }
}
