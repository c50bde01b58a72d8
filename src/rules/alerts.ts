import type { Client } from '@elastic/elasticsearch';
import { SlackAuditError } from '../errors.js';
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
 * Painless merge of a repeat hit into an existing alert. Event ids are a set capped at `cap`; ids beyond the
 * cap still grow the count (exact below the cap). `ctx.op = 'none'` when nothing changed, so a replay is a no-op.
 */
export const MERGE_ALERT_SCRIPT = `
def a = ctx._source.slack.alert;
boolean changed = false;
if (a.event_ids == null) { a.event_ids = new ArrayList(); }
long extra = 0;
for (def id : params.ids) {
  if (!a.event_ids.contains(id)) {
    if (a.event_ids.size() < params.cap) { a.event_ids.add(id); }
    extra++;
    changed = true;
  }
}
long cur = a.count == null ? 0 : ((Number) a.count).longValue();
long next = params.additive ? cur + extra : Math.max(cur, (long) params.count);
next = Math.max(next, (long) a.event_ids.size());
if (next != cur) { a.count = next; changed = true; }
if (params.first.compareTo(a.first_seen) < 0) { a.first_seen = params.first; ctx._source.event.start = params.first; ctx._source['@timestamp'] = params.first; changed = true; }
if (params.last.compareTo(a.last_seen) > 0) { a.last_seen = params.last; ctx._source.event.end = params.last; changed = true; }
if (!changed) { ctx.op = 'none'; } else { ctx._source.event.updated = params.now; }
`;

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
    const operations: unknown[] = [];
    for (const d of docs) {
      const a = d.slack.alert;
      operations.push({ update: { _index: this.index, _id: a.id, retry_on_conflict: 5 } });
      operations.push({
        script: {
          source: MERGE_ALERT_SCRIPT,
          lang: 'painless',
          params: { ids: a.event_ids, cap: this.cap, count: a.count, additive: a.rule_type === 'match', first: a.first_seen, last: a.last_seen, now: new Date().toISOString() },
        },
        upsert: d,
      });
    }
    let res;
    try {
      res = await this.es.bulk({ operations, refresh: false });
    } catch (err) {
      throw new SlackAuditError('SLACK_AUDIT_ES_UNAVAILABLE', `alert write failed: ${(err as Error).message}`, { retryable: true, cause: err });
    }
    const out: AlertWriteResult[] = [];
    res.items.forEach((item, i) => {
      const op = item.update;
      const doc = docs[i] as AlertDocument;
      if (!op || op.error) {
        throw new SlackAuditError('SLACK_AUDIT_ES_ITEM_REJECTED', `alert ${doc.slack.alert.id} rejected: ${op?.error?.reason ?? 'no result'}`, {
          retryable: (op?.status ?? 500) >= 429,
          details: { status: op?.status, type: op?.error?.type },
        });
      }
      out.push({ alertId: doc.slack.alert.id, result: op.result === 'created' ? 'created' : op.result === 'noop' ? 'noop' : 'updated', doc });
    });
    return out;
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
        const a = prev.slack.alert;
        const set = new Set(a.event_ids);
        let extra = 0;
        for (const e of d.slack.alert.event_ids) {
          if (set.has(e)) continue;
          extra++;
          if (a.event_ids.length < this.cap) a.event_ids.push(e);
          set.add(e);
        }
        const cur = a.count;
        a.count = Math.max(d.slack.alert.rule_type === 'match' ? cur + extra : Math.max(cur, d.slack.alert.count), a.event_ids.length);
        let changed = extra > 0 || a.count !== cur;
        if (d.slack.alert.first_seen < a.first_seen) {
          a.first_seen = d.slack.alert.first_seen;
          changed = true;
        }
        if (d.slack.alert.last_seen > a.last_seen) {
          a.last_seen = d.slack.alert.last_seen;
          changed = true;
        }
        return { alertId: id, result: changed ? ('updated' as const) : ('noop' as const), doc: prev };
      }),
    );
  }
}
