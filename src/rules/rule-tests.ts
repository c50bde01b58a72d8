import { deepMerge } from '../config/load.js';
import type { NormalizeContext, NormalizeResult } from '../normalize/index.js';
import { MemoryAlertSink, buildAlertDocument, type AlertDocument } from './alerts.js';
import { compileRule, evaluateBatch } from './evaluate.js';
import type { EcsDocument } from './fields.js';
import type { LoadedRuleFile } from './load.js';
import type { Rule, RuleTestCase } from './schema.js';
import { stallHit, toMs } from './stall.js';
import { MemoryRuleState } from './state.js';

/**
 * `slack-audit rules test`: every rule's cases run against raw Slack entries (the API shape), normalized
 * with the real normalizer, evaluated by the real core on fresh in-memory state. A case passes when the
 * number of distinct alerts (and optionally count / target / group) is as expected.
 */
export type Normalizer = (raw: unknown, ctx?: Partial<NormalizeContext>) => NormalizeResult;

export interface CaseResult {
  name: string;
  passed: boolean;
  message?: string;
}

export interface RuleTestResult {
  ruleId: string;
  file: string;
  cases: CaseResult[];
}

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Expand `{repeat, every_seconds, entry}` and merge the file's test_defaults under every entry. */
export function expandEntries(entries: readonly Raw[], defaults: Raw | undefined): Raw[] {
  const out: Raw[] = [];
  for (const e of entries) {
    if (typeof e.repeat === 'number' && isObj(e.entry)) {
      const base = e.entry;
      const every = typeof e.every_seconds === 'number' ? e.every_seconds : 1;
      const start = typeof base.date_create === 'number' ? base.date_create : 0;
      for (let i = 0; i < e.repeat; i++) out.push(withDefaults({ ...base, id: `${String(base.id)}-${i + 1}`, date_create: start + i * every }, defaults));
    } else {
      out.push(withDefaults(e, defaults));
    }
  }
  return out;
}

function withDefaults(entry: Raw, defaults: Raw | undefined): Raw {
  return defaults ? deepMerge(structuredClone(defaults), entry) : entry;
}

function normalizeAll(raw: Raw[], tc: RuleTestCase, normalize: Normalizer): { docs: EcsDocument[]; error?: string } {
  const info = tc.ip_info ?? {};
  const ctx: Partial<NormalizeContext> = {
    sourceId: 'test',
    keepOriginal: false,
    ingestedAt: '2026-01-01T00:00:00.000Z',
    geo: (ip) => {
      const c = info[ip]?.country;
      return c ? { country_iso_code: c } : undefined;
    },
    asn: (ip) => {
      const i = info[ip];
      return i?.asn !== undefined ? { number: i.asn, ...(i.as_org ? { organization: { name: i.as_org } } : {}) } : undefined;
    },
  };
  const docs: EcsDocument[] = [];
  for (const [i, r] of raw.entries()) {
    const res = normalize(r, ctx);
    if (!res.ok) return { docs, error: `entry ${i} (${String(r.id)}) does not normalize: ${res.error.message}` };
    docs.push(res.doc);
  }
  return { docs };
}

export async function runCase(rule: Rule, tc: RuleTestCase, defaults: Raw | undefined, normalize: Normalizer, stallMinutes = 30): Promise<CaseResult> {
  const compiled = compileRule({ ...rule, enabled: true });
  const sink = new MemoryAlertSink();
  if (rule.type === 'collection_stall') {
    const now = toMs(tc.now) ?? Date.now();
    const hit = stallHit(compiled, 'test', tc.source_state ?? {}, now, stallMinutes * 60_000);
    if (hit) await sink.upsert([buildAlertDocument(hit, { now })]);
  } else {
    const state = new MemoryRuleState();
    for (const batch of [tc.entries, ...(tc.later ? [tc.later] : [])]) {
      const { docs, error } = normalizeAll(expandEntries(batch, defaults), tc, normalize);
      if (error) return { name: tc.name, passed: false, message: error };
      const res = await evaluateBatch([compiled], docs, state);
      await sink.upsert(res.hits.map((h) => buildAlertDocument(h, { now: 0 })));
    }
  }
  return check(tc, [...sink.alerts.values()]);
}

function check(tc: RuleTestCase, alerts: AlertDocument[]): CaseResult {
  const e = tc.expect;
  const fail = (message: string): CaseResult => ({ name: tc.name, passed: false, message });
  if (alerts.length !== e.alerts) return fail(`expected ${e.alerts} alert(s), got ${alerts.length}`);
  const sorted = [...alerts].sort((a, b) => a.slack.alert.first_seen.localeCompare(b.slack.alert.first_seen));
  if (e.count !== undefined) {
    const got = sorted[0]?.slack.alert.count ?? 0;
    if (got < e.count) return fail(`expected the first alert's count >= ${e.count}, got ${got}`);
  }
  if (e.target_user !== undefined) {
    const targets = alerts.map((a) => (a.user as { target?: { id?: string } } | undefined)?.target?.id);
    if (!targets.includes(e.target_user)) return fail(`expected an alert about user ${e.target_user}, got ${JSON.stringify(targets)}`);
  }
  if (e.group !== undefined) {
    const groups = alerts.map((a) => a.slack.alert.group.key);
    if (!groups.includes(e.group)) return fail(`expected an alert for group ${JSON.stringify(e.group)}, got ${JSON.stringify(groups)}`);
  }
  return { name: tc.name, passed: true };
}

export async function runRuleTests(files: readonly LoadedRuleFile[], normalize: Normalizer, stallMinutes = 30): Promise<RuleTestResult[]> {
  const out: RuleTestResult[] = [];
  for (const f of files) {
    for (const rule of f.content.rules) {
      const cases: CaseResult[] = [];
      for (const tc of rule.tests) {
        try {
          cases.push(await runCase(rule, tc, f.content.test_defaults, normalize, stallMinutes));
        } catch (err) {
          cases.push({ name: tc.name, passed: false, message: `error: ${(err as Error).message}` });
        }
      }
      out.push({ ruleId: rule.id, file: f.file, cases });
    }
  }
  return out;
}
