import { z } from 'zod';
import { durationSchema } from './duration.js';
import { conditionSchema } from './expr.js';
import { FIELD_PATH_RE } from './fields.js';

/**
 * The rule-file format (config/rules/*.yaml). A file holds `rules:` (a list) and optional `test_defaults:`
 * (a partial raw Slack entry deep-merged under every test entry of the file). Keys are snake_case, as in
 * Elastic and Panther rule files. Everything is data: conditions are the expression form of expr.ts.
 */
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
/** ECS `event.severity` / Elastic risk scores for each level. */
export const SEVERITY_SCORE: Record<Severity, number> = { low: 21, medium: 47, high: 73, critical: 99 };

const ruleId = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,99}$/, 'rule id: lowercase letters, digits, ".", "_" and "-"');
/** A group field, or alternatives `a|b` (first one present wins), e.g. `user.target.id|user.id`. */
const groupField = z
  .string()
  .refine((s) => s.split('|').every((p) => FIELD_PATH_RE.test(p)), 'group_by: dotted field paths, alternatives separated by |');
const fieldPath = z.string().regex(FIELD_PATH_RE, 'a dotted field path such as source.geo.country_iso_code');

const threatSchema = z
  .object({
    tactic: z.object({ id: z.string().regex(/^TA\d{4}$/, 'MITRE tactic id like TA0006'), name: z.string().min(1) }).strict(),
    technique: z
      .object({ id: z.string().regex(/^T\d{4}(\.\d{3})?$/, 'MITRE technique id like T1539 or T1562.008'), name: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict();

const urlRef = {
  /** The URL itself (fine for a SOAR endpoint without a secret in it)... */
  url: z.url().optional(),
  /** ...or the name of an env var holding it (Slack incoming-webhook URLs are secrets). */
  url_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
};

export const actionSpecSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('session_reset'), mobile_only: z.boolean().default(false), web_only: z.boolean().default(false) }).strict(),
  z.object({ type: z.literal('webhook'), ...urlRef }).strict(),
  z.object({ type: z.literal('slack_notify'), ...urlRef }).strict(),
]);
export type ActionSpec = z.infer<typeof actionSpecSchema>;

/** A test entry: a raw Slack entry, or `{repeat, entry, every_seconds}` expanding to N entries (ids suffixed -1..-N). */
const testEntrySchema = z.record(z.string(), z.unknown());

const testCaseSchema = z
  .object({
    name: z.string().min(1),
    /** Raw Slack Audit Logs entries (the API shape), normalized with toEcs before evaluation. */
    entries: z.array(testEntrySchema).default([]),
    /** Entries delivered in a later batch (late or re-delivered events). */
    later: z.array(testEntrySchema).optional(),
    /** GeoIP/ASN answers for the test's IPs, so cases do not depend on an mmdb file's vintage. */
    ip_info: z
      .record(z.string(), z.object({ country: z.string().length(2).optional(), asn: z.number().int().optional(), as_org: z.string().optional() }).strict())
      .optional(),
    /** collection_stall rules: the collector's source hash and the check time. */
    source_state: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    now: z.union([z.string(), z.number()]).optional(),
    expect: z
      .object({
        alerts: z.number().int().min(0),
        /** Minimum `slack.alert.count` of the first alert. */
        count: z.number().int().min(0).optional(),
        target_user: z.string().optional(),
        group: z.string().optional(),
      })
      .strict(),
  })
  .strict();
export type RuleTestCase = z.infer<typeof testCaseSchema>;

const common = {
  id: ruleId,
  name: z.string().min(1).max(200),
  description: z.string().min(1),
  severity: z.enum(SEVERITIES),
  enabled: z.boolean().default(true),
  /** Runbook: a URL or a short text telling the responder what to do. */
  reference: z.string().min(1),
  threat: z.array(threatSchema).default([]),
  tags: z.array(z.string()).default([]),
  group_by: z.array(groupField).max(5).default([]),
  /** Who the alert is about: the actor (user.*), the affected user (user.target.*), or auto (group_by, then user.target). */
  target: z.enum(['auto', 'actor', 'target', 'none']).default('auto'),
  /** Repeat hits inside this period fold into one alert (its count and event ids grow). */
  suppress_for: durationSchema.optional(),
  actions: z.array(actionSpecSchema).max(10).default([]),
  tests: z.array(testCaseSchema).default([]),
};

const stepSchema = z
  .object({ name: z.string().min(1), where: conditionSchema, min_count: z.number().int().min(1).max(10_000).default(1) })
  .strict();

export const ruleSchema = z.discriminatedUnion('type', [
  z.object({ ...common, type: z.literal('match'), where: conditionSchema }).strict(),
  z
    .object({
      ...common,
      type: z.literal('threshold'),
      where: conditionSchema,
      window: durationSchema,
      /** Alert when the count (or distinct count of `distinct`) inside one window reaches this. */
      threshold: z.number().int().min(1).max(100_000),
      distinct: fieldPath.optional(),
    })
    .strict(),
  z
    .object({
      ...common,
      type: z.literal('new_value'),
      where: conditionSchema,
      field: fieldPath,
      lookback: durationSchema,
      /** A group with no history at all is learning, not anomalous: no alert unless this is true. */
      alert_on_first_seen_group: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      ...common,
      type: z.literal('sequence'),
      window: durationSchema,
      steps: z.array(stepSchema).min(2).max(5),
    })
    .strict(),
  z
    .object({
      ...common,
      type: z.literal('collection_stall'),
      /** Alert when a source has delivered nothing for this long (default: config rules.stallMinutes). */
      after: durationSchema.optional(),
    })
    .strict(),
]);
export type Rule = z.infer<typeof ruleSchema>;
export type RuleType = Rule['type'];

export const ruleFileSchema = z
  .object({
    rules: z.array(ruleSchema).min(1),
    test_defaults: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type RuleFile = z.infer<typeof ruleFileSchema>;
