import { createHash } from 'node:crypto';
import { compileCondition, type Predicate } from './expr.js';
import { compileGetter, eventId, eventTimeMs, scalars, type EcsDocument, type FieldGetter } from './fields.js';
import type { Rule } from './schema.js';
import { sortOccurrences, type NewValueCheck, type Occurrence, type OccurrenceRange, type OccurrenceWrite, type RuleState } from './state.js';

/**
 * The pure evaluation core: compiled rules + a batch of ECS events + a RuleState -> alert hits.
 * All windows are in EVENT time (@timestamp), so late, re-delivered and backfilled events are judged by when
 * they happened. Redis work is batched: one call to write occurrences, one for new-value checks, one to read
 * windows back (each a single pipeline in RedisRuleState).
 */
export interface CompiledRule {
  rule: Rule;
  id: string;
  /** `where` of match/threshold/new_value rules. */
  where?: Predicate;
  steps?: { name: string; where: Predicate; minCount: number }[];
  /** group_by: each entry a list of alternative getters (`a|b`). */
  groupBy: { path: string; getters: FieldGetter[] }[];
  distinct?: FieldGetter;
  valueField?: FieldGetter;
}

export function compileRule(rule: Rule): CompiledRule {
  const groupBy = rule.group_by.map((path) => ({ path, getters: path.split('|').map(compileGetter) }));
  const base: CompiledRule = { rule, id: rule.id, groupBy };
  switch (rule.type) {
    case 'match':
      return { ...base, where: compileCondition(rule.where) };
    case 'threshold':
      return { ...base, where: compileCondition(rule.where), ...(rule.distinct ? { distinct: compileGetter(rule.distinct) } : {}) };
    case 'new_value':
      return { ...base, where: compileCondition(rule.where), valueField: compileGetter(rule.field) };
    case 'sequence':
      return { ...base, steps: rule.steps.map((s) => ({ name: s.name, where: compileCondition(s.where), minCount: s.min_count })) };
    case 'collection_stall':
      return base;
  }
}

export interface AlertHit {
  alertId: string;
  rule: CompiledRule;
  groupKey: string;
  groupValues: Record<string, string>;
  bucket: string;
  /** Triggering Slack event ids (capped). */
  eventIds: string[];
  count: number;
  firstSeen: number;
  lastSeen: number;
  /** An event of the group, used for the alert's user/organization context. */
  representative: EcsDocument;
  /** new_value: the value that was new. */
  newValue?: string;
}

export interface EvaluateOptions {
  /** Event ids kept per alert (>= 100). */
  eventIdsCap?: number;
  /** Extra event-time retention for late events, on top of each window. */
  lateGraceMs?: number;
}

export interface EvaluateResult {
  hits: AlertHit[];
  /** Events each rule's conditions looked at. */
  evaluated: number;
  /** Events without @timestamp or event.id (cannot be judged by event time or deduplicated). */
  skipped: number;
}

export const DEFAULT_EVENT_IDS_CAP = 200;
const DEFAULT_LATE_GRACE_MS = 6 * 3_600_000;
const SEQUENCE_CANDIDATES = 1000;

export function alertIdFor(ruleId: string, groupKey: string, bucket: string): string {
  return createHash('sha256').update(`${ruleId}\n${groupKey}\n${bucket}`).digest('hex').slice(0, 40);
}

const hashKey = (s: string): string => createHash('sha1').update(s).digest('hex').slice(0, 20);

function groupOf(rule: CompiledRule, doc: EcsDocument): { key: string; values: Record<string, string> } | undefined {
  if (rule.groupBy.length === 0) return { key: '', values: {} };
  const values: Record<string, string> = {};
  const parts: string[] = [];
  let any = false;
  for (const g of rule.groupBy) {
    let v: string | undefined;
    for (const get of g.getters) {
      const first = scalars(get(doc))[0];
      if (first !== undefined && first !== '') {
        v = String(first);
        break;
      }
    }
    if (v !== undefined) {
      any = true;
      values[g.path] = v;
    }
    parts.push(v ?? '');
  }
  // An event that has none of the group fields cannot belong to any group of this rule.
  return any ? { key: parts.join('\u001f'), values } : undefined;
}

interface Prepared {
  doc: EcsDocument;
  ts: number;
  id: string;
}

interface TouchedGroup {
  rule: CompiledRule;
  key: string;
  hash: string;
  values: Record<string, string>;
  minTs: number;
  maxTs: number;
  batchMembers: Set<string>;
  representative: EcsDocument;
  /** sequence: a step-1 event of this batch (preferred as representative). */
  firstStepDoc?: EcsDocument;
}

class HitCollector {
  private readonly byId = new Map<string, AlertHit>();
  constructor(private readonly cap: number) {}

  add(hit: Omit<AlertHit, 'alertId'>): void {
    const alertId = alertIdFor(hit.rule.id, hit.groupKey, hit.bucket);
    const prev = this.byId.get(alertId);
    if (!prev) {
      this.byId.set(alertId, { ...hit, alertId, eventIds: hit.eventIds.slice(0, this.cap) });
      return;
    }
    const ids = new Set(prev.eventIds);
    let added = 0;
    for (const id of hit.eventIds) {
      if (ids.has(id)) continue;
      added++;
      if (ids.size < this.cap) ids.add(id);
    }
    prev.eventIds = [...ids];
    prev.count = hit.rule.rule.type === 'match' ? prev.count + added : Math.max(prev.count, hit.count);
    prev.firstSeen = Math.min(prev.firstSeen, hit.firstSeen);
    if (hit.lastSeen >= prev.lastSeen) {
      prev.lastSeen = hit.lastSeen;
      prev.representative = hit.representative;
    }
  }

  list(): AlertHit[] {
    return [...this.byId.values()];
  }
}

const memberEventId = (member: string): string => {
  const i = member.lastIndexOf('\u001f');
  return i >= 0 ? member.slice(i + 1) : member;
};
const memberValue = (member: string): string => {
  const i = member.lastIndexOf('\u001f');
  return i >= 0 ? member.slice(0, i) : member;
};

export async function evaluateBatch(
  rules: readonly CompiledRule[],
  events: readonly EcsDocument[],
  state: RuleState,
  options: EvaluateOptions = {},
): Promise<EvaluateResult> {
  const cap = Math.max(100, options.eventIdsCap ?? DEFAULT_EVENT_IDS_CAP);
  const lateGrace = options.lateGraceMs ?? DEFAULT_LATE_GRACE_MS;
  const prepared: Prepared[] = [];
  let skipped = 0;
  for (const doc of events) {
    const ts = eventTimeMs(doc);
    const id = eventId(doc);
    if (ts === undefined || id === undefined) {
      skipped++;
      continue;
    }
    prepared.push({ doc, ts, id });
  }
  // Slack pages come newest first; evaluate in event-time order (ties by id, for determinism).
  prepared.sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const hits = new HitCollector(cap);
  const writes: OccurrenceWrite[] = [];
  const checks: { check: NewValueCheck; rule: CompiledRule; group: { key: string; values: Record<string, string> }; ev: Prepared }[] = [];
  const touched = new Map<string, TouchedGroup>();
  let evaluated = 0;

  const touch = (rule: CompiledRule, group: { key: string; values: Record<string, string> }, ev: Prepared, member: string, step: number) => {
    const tkey = `${rule.id}\n${group.key}`;
    let t = touched.get(tkey);
    if (!t) {
      t = { rule, key: group.key, hash: hashKey(group.key), values: group.values, minTs: ev.ts, maxTs: ev.ts, batchMembers: new Set(), representative: ev.doc };
      touched.set(tkey, t);
    }
    t.minTs = Math.min(t.minTs, ev.ts);
    t.maxTs = Math.max(t.maxTs, ev.ts);
    t.batchMembers.add(member);
    t.representative = ev.doc;
    if (step === 0 && rule.rule.type === 'sequence' && t.firstStepDoc === undefined) t.firstStepDoc = ev.doc;
    return t;
  };

  for (const rule of rules) {
    const r = rule.rule;
    if (!r.enabled || r.type === 'collection_stall') continue;
    for (const ev of prepared) {
      evaluated++;
      if (r.type === 'sequence') {
        const steps = rule.steps ?? [];
        for (let k = 0; k < steps.length; k++) {
          if (!(steps[k] as { where: Predicate }).where(ev.doc)) continue;
          const group = groupOf(rule, ev.doc);
          if (!group) break;
          const t = touch(rule, group, ev, ev.id, k);
          writes.push({ key: `occ:{${rule.id}:${t.hash}}:${k}`, member: ev.id, ts: ev.ts, retentionMs: r.window + lateGrace });
        }
        continue;
      }
      if (!rule.where?.(ev.doc)) continue;
      const group = groupOf(rule, ev.doc);
      if (!group) continue;
      if (r.type === 'match') {
        const bucket = r.suppress_for !== undefined ? `t:${Math.floor(ev.ts / r.suppress_for)}` : `e:${ev.id}`;
        hits.add({ rule, groupKey: group.key, groupValues: group.values, bucket, eventIds: [ev.id], count: 1, firstSeen: ev.ts, lastSeen: ev.ts, representative: ev.doc });
      } else if (r.type === 'threshold') {
        let member = ev.id;
        if (rule.distinct) {
          const dv = scalars(rule.distinct(ev.doc))[0];
          if (dv === undefined) continue;
          member = `${String(dv)}\u001f${ev.id}`;
        }
        const t = touch(rule, group, ev, member, 0);
        writes.push({ key: `occ:{${rule.id}:${t.hash}}:0`, member, ts: ev.ts, retentionMs: r.window + lateGrace });
      } else {
        const values = [...new Set(scalars(rule.valueField?.(ev.doc)).map(String))].filter((v) => v !== '');
        for (const value of values) {
          checks.push({
            check: { key: `nv:{${rule.id}:${hashKey(group.key)}}`, value, ts: ev.ts, eventId: ev.id, lookbackMs: r.lookback },
            rule,
            group,
            ev,
          });
        }
      }
    }
  }

  const [, nvResults] = await Promise.all([writes.length > 0 ? state.addOccurrences(writes) : Promise.resolve(), checks.length > 0 ? state.checkNewValues(checks.map((c) => c.check)) : Promise.resolve([])]);

  checks.forEach((c, i) => {
    const res = nvResults[i];
    const r = c.rule.rule;
    if (!res?.isNew || r.type !== 'new_value') return;
    if (!res.hadHistory && !r.alert_on_first_seen_group) return;
    const period = r.suppress_for ?? r.lookback;
    hits.add({
      rule: c.rule,
      groupKey: c.group.key,
      groupValues: c.group.values,
      bucket: `v:${c.check.value}:${Math.floor(c.ev.ts / period)}`,
      eventIds: [c.ev.id],
      count: 1,
      firstSeen: c.ev.ts,
      lastSeen: c.ev.ts,
      representative: c.ev.doc,
      newValue: c.check.value,
    });
  });

  // Read back the windows around this batch for every touched threshold / sequence group.
  const groups = [...touched.values()];
  const ranges: OccurrenceRange[] = [];
  for (const g of groups) {
    const r = g.rule.rule;
    if (r.type !== 'threshold' && r.type !== 'sequence') continue;
    const stepCount = r.type === 'sequence' ? r.steps.length : 1;
    for (let k = 0; k < stepCount; k++) ranges.push({ key: `occ:{${g.rule.id}:${g.hash}}:${k}`, from: g.minTs - r.window, to: g.maxTs + r.window });
  }
  const windows = ranges.length > 0 ? await state.rangeOccurrences(ranges) : [];
  let w = 0;
  for (const g of groups) {
    const r = g.rule.rule;
    if (r.type === 'threshold') {
      thresholdHits(g, r.window, r.threshold, r.suppress_for ?? r.window, g.rule.distinct !== undefined, sortOccurrences(windows[w++] ?? []), hits);
    } else if (r.type === 'sequence') {
      const lists = r.steps.map(() => sortOccurrences(windows[w++] ?? []));
      sequenceHits(g, r.window, r.suppress_for ?? r.window, lists, hits);
    }
  }
  return { hits: hits.list(), evaluated, skipped };
}

/** Sliding event-time windows [t_i, t_i + window] over the group's occurrences; hits bucket by window start. */
function thresholdHits(g: TouchedGroup, windowMs: number, threshold: number, periodMs: number, distinct: boolean, occ: Occurrence[], hits: HitCollector): void {
  const n = occ.length;
  if (n === 0) return;
  // prefix count of this batch's members, to only report windows this batch contributed to
  const inBatch = new Array<number>(n + 1).fill(0);
  for (let i = 0; i < n; i++) inBatch[i + 1] = (inBatch[i] as number) + (g.batchMembers.has((occ[i] as Occurrence).member) ? 1 : 0);
  const counts = new Map<string, number>();
  let j = 0;
  for (let i = 0; i < n; i++) {
    const start = occ[i] as Occurrence;
    while (j < n && (occ[j] as Occurrence).ts <= start.ts + windowMs) {
      if (distinct) {
        const v = memberValue((occ[j] as Occurrence).member);
        counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      j++;
    }
    const c = distinct ? counts.size : j - i;
    if (c >= threshold && (inBatch[j] as number) - (inBatch[i] as number) > 0) {
      const slice = occ.slice(i, j);
      hits.add({
        rule: g.rule,
        groupKey: g.key,
        groupValues: g.values,
        bucket: `w:${Math.floor(start.ts / periodMs)}`,
        eventIds: slice.map((o) => memberEventId(o.member)),
        count: c,
        firstSeen: start.ts,
        lastSeen: (occ[j - 1] as Occurrence).ts,
        representative: g.representative,
      });
    }
    if (distinct) {
      const v = memberValue(start.member);
      const left = (counts.get(v) ?? 1) - 1;
      if (left <= 0) counts.delete(v);
      else counts.set(v, left);
    }
  }
}

/**
 * Ordered steps within one window: for a step-1 candidate at t1, greedily take the earliest events of each
 * later step at or after the previous step's last event, all before t1 + window. Greedy earliest is optimal
 * for a fixed t1. The alert is bucketed by t1, so the same events always give the same alert id.
 */
function sequenceHits(g: TouchedGroup, windowMs: number, periodMs: number, lists: Occurrence[][], hits: HitCollector): void {
  const steps = g.rule.steps ?? [];
  const first = lists[0] ?? [];
  const doneBuckets = new Set<string>();
  for (let a = 0; a < first.length && a < SEQUENCE_CANDIDATES; a++) {
    const t1 = (first[a] as Occurrence).ts;
    const bucket = `s:${Math.floor(t1 / periodMs)}`;
    if (doneBuckets.has(bucket)) continue;
    const deadline = t1 + windowMs;
    const m1 = steps[0]?.minCount ?? 1;
    if (a + m1 - 1 >= first.length || (first[a + m1 - 1] as Occurrence).ts > deadline) continue;
    const ids: string[] = first.slice(a, a + m1).map((o) => o.member);
    let cursor = (first[a + m1 - 1] as Occurrence).ts;
    let ok = true;
    let lastSeen = cursor;
    for (let k = 1; k < lists.length; k++) {
      const list = lists[k] as Occurrence[];
      const need = steps[k]?.minCount ?? 1;
      const taken: Occurrence[] = [];
      for (const o of list) {
        if (o.ts < cursor || ids.includes(o.member)) continue;
        if (o.ts > deadline) break;
        taken.push(o);
        // The last step reports every in-window event (e.g. the whole mass download), earlier ones the minimum.
        if (taken.length >= need && k < lists.length - 1) break;
      }
      if (taken.length < need) {
        ok = false;
        break;
      }
      const counted = k < lists.length - 1 ? taken.slice(0, need) : taken;
      for (const o of counted) ids.push(o.member);
      cursor = (taken[need - 1] as Occurrence).ts;
      lastSeen = (counted[counted.length - 1] as Occurrence).ts;
    }
    if (!ok) continue;
    if (!ids.some((id) => g.batchMembers.has(id))) continue;
    doneBuckets.add(bucket);
    hits.add({
      rule: g.rule,
      groupKey: g.key,
      groupValues: g.values,
      bucket,
      eventIds: ids,
      count: ids.length,
      firstSeen: t1,
      lastSeen,
      representative: g.firstStepDoc ?? g.representative,
    });
  }
}
