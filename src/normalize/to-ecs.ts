import { isIPv4 } from 'node:net';
import ipaddr from 'ipaddr.js';
import { SlackAuditError, errorMessage } from '../errors.js';
import { auditEntrySchema, type AuditEntry } from '../slack/entry.js';
import { categorize } from './action-catalog.js';
import type { EcsDocument, EcsEvent, NormalizeContext, NormalizeResult } from './types.js';

/**
 * Slack audit entry -> ECS document. Pure (apart from the `event.ingested` default), total (never throws for
 * any input), and lossless: whatever has no ECS home is kept under `slack.audit.*`.
 *
 * Field names follow Elastic's Slack integration (../shared/conformance/elastic-slack-audit.md) so Kibana
 * searches carry over; the additions (categorization for every action, user.target.*, organization.*,
 * anomaly as intrusion_detection, always-array reasons) are extra fields, never renames.
 */
export const ECS_VERSION = '8.11.0';

/** Latest date_create we accept: 9999-12-31T23:59:59Z (later ones cannot be named or stored as ES dates). */
const MAX_DATE_CREATE = 253_402_300_799;
/** Flattened fields reject objects deeper than `depth_limit` (20); we stringify below this depth. */
const MAX_FLATTENED_DEPTH = 12;
const TOP_LEVEL_KEYS = new Set(['id', 'date_create', 'action', 'actor', 'entity', 'context', 'details']);
const CONTEXT_KEYS = new Set(['location', 'ua', 'ip_address', 'session_id', 'app']);
const LOCATION_KEYS = new Set(['type', 'id', 'name', 'domain']);
const ACTOR_USER_KEYS = new Set(['id', 'name', 'email', 'team']);
const ACTOR_KEYS = new Set(['type', 'user']);

/** Entity keys mapped explicitly in the template (Elastic's names); anything else goes to `entity.other`. */
const ENTITY_KEYWORDS = new Set([
  'id',
  'name',
  'email',
  'team',
  'domain',
  'filetype',
  'title',
  'privacy',
  'teams_shared_with',
  'scopes',
  'scopes_bot',
  'primary_usergroup',
  'barriered_from_usergroup',
  'barriered_from_usergroups',
  'restricted_subjects',
  'channel',
  'timestamp',
  'type',
  'original_connected_channel_id',
  'app_id',
  'callback_id',
  'creator',
]);
const ENTITY_BOOLEANS = new Set(['is_shared', 'is_org_shared', 'is_distributed', 'is_directory_approved', 'is_workflow_app', 'is_salesforce_channel']);

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A non-empty string for a scalar (numbers/booleans stringified), else undefined. */
function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return String(v);
  return undefined;
}

function invalid(reason: string, message: string, cause?: unknown): NormalizeResult {
  return {
    ok: false,
    error: new SlackAuditError('SLACK_AUDIT_ENTRY_INVALID', message, { details: { reason }, ...(cause === undefined ? {} : { cause }) }),
  };
}

/** `serialized` is `JSON.stringify(raw)` when the caller already has it (it becomes event.original). */
export function toEcs(raw: unknown, ctx: Partial<NormalizeContext> = {}, serialized?: string): NormalizeResult {
  try {
    return normalize(raw, ctx, serialized);
  } catch (err) {
    // Belt and braces: enrichers, cyclic values or anything unforeseen must never crash a batch.
    return invalid('normalize_failed', `cannot normalize entry: ${errorMessage(err)}`, err);
  }
}

// ── validation ────────────────────────────────────────────────────────────────────────────────────────

interface Validated {
  entry: AuditEntry;
  /** Values that failed the tolerant schema at non-key paths, kept (by dotted path) instead of dropped. */
  repaired: Obj;
}

function coreCheck(raw: Obj): NormalizeResult | undefined {
  const { id, date_create: dc, action } = raw;
  if (typeof id !== 'string' || id.trim() === '') return invalid('missing_id', 'entry has no string `id`');
  if (typeof action !== 'string' || action === '') return invalid('missing_action', `entry ${id} has no string \`action\``);
  if (typeof dc !== 'number' || !Number.isInteger(dc) || dc < 0) return invalid('invalid_date_create', `entry ${id} has no integer \`date_create\``);
  if (dc > MAX_DATE_CREATE) return invalid('date_out_of_range', `entry ${id} has date_create ${dc} beyond year 9999`);
  return undefined;
}

function validate(raw: unknown): Validated | NormalizeResult {
  if (!isObj(raw)) return invalid('not_an_object', `entry is ${Array.isArray(raw) ? 'an array' : raw === null ? 'null' : typeof raw}, not an object`);
  const bad = coreCheck(raw);
  if (bad) return bad;
  const first = auditEntrySchema.safeParse(raw);
  if (first.success) return { entry: first.data, repaired: {} };
  // Something optional has an unexpected shape (a numeric actor name, a string details...). Move the bad
  // values aside and parse again: the event is still worth indexing.
  const work = structuredClone(raw);
  const repaired: Obj = {};
  let issues = first.error.issues;
  for (let round = 0; round < 5; round++) {
    for (const issue of issues) {
      const path = issue.path.map(String);
      if (path.length === 0) return invalid('schema', `entry ${String(raw.id)}: ${issue.message}`);
      repaired[path.join('.')] = takeAt(work, path);
    }
    const again = auditEntrySchema.safeParse(work);
    if (again.success) return { entry: again.data, repaired };
    issues = again.error.issues;
  }
  return invalid('schema', `entry ${String(raw.id)} does not match the audit entry schema`);
}

/** Remove the value at `path` (returning it); a non-object `details` is kept as `{ value }` instead. */
function takeAt(root: Obj, path: string[]): unknown {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (!isObj(node) && !Array.isArray(node)) return undefined;
    node = (node as Obj)[key];
  }
  const last = path[path.length - 1] as string;
  if (!isObj(node) && !Array.isArray(node)) return undefined;
  const parent = node as Obj;
  const value = parent[last];
  if (path.length === 1 && last === 'details') {
    parent.details = { value };
    return undefined;
  }
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- removing one schema-invalid key by path
  delete parent[last];
  return value;
}

// ── helpers for polymorphic subtrees ─────────────────────────────────────────────────────────────────

/** Make a value safe for a `flattened` field: no nulls, bounded depth, no empty keys. */
function forFlattened(v: unknown, depth = 0): unknown {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v + 0 : String(v); // + 0 turns -0 into 0, as JSON does
  if (typeof v === 'bigint') return v.toString();
  if (depth >= MAX_FLATTENED_DEPTH) return JSON.stringify(v);
  if (Array.isArray(v)) {
    const out = v.map((x) => forFlattened(x, depth + 1)).filter((x) => x !== undefined);
    return out;
  }
  if (isObj(v)) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) {
      const val = forFlattened(x, depth + 1);
      if (val !== undefined) out[k === '' || /^\.+$/.test(k) ? '_' : k] = val;
    }
    return out;
  }
  return undefined;
}

function stringArray(v: unknown): string[] {
  const list = Array.isArray(v) ? v : [v];
  return list.filter((x) => x !== null && x !== undefined && x !== '').map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
}

/** succeeded_users / failed_users: an array, or a string holding a JSON array (both SDKs accept both). */
function userList(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') {
    const t = v.trim();
    if (t === '') return [];
    if (t.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(t);
        if (Array.isArray(parsed)) return parsed;
      } catch {
        /* not JSON after all: keep the string itself */
      }
    }
    return [v];
  }
  return v === null || v === undefined ? [] : [v];
}

/** details.action_timestamp in s, ms, µs or ns (by magnitude) -> { ms, iso } keeping sub-ms digits. */
export function actionTimestamp(v: unknown): { ms: number; iso: string } | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) return undefined;
  let ms: number;
  let subMs = '';
  if (n >= 1e17) {
    ms = Math.floor(n / 1e6);
  } else if (n >= 1e14) {
    // µs (the docs' 16-digit example): keep all six fractional digits, as Elastic does.
    ms = Math.floor(n / 1e3);
    subMs = String(Math.floor(n) % 1000).padStart(3, '0');
  } else if (n >= 1e11) {
    ms = Math.floor(n);
  } else {
    ms = Math.floor(n * 1000);
  }
  if (ms > MAX_DATE_CREATE * 1000) return undefined;
  const iso = new Date(ms).toISOString();
  return { ms, iso: subMs ? iso.replace(/Z$/, `${subMs}Z`) : iso };
}

interface DetailsOut {
  details: Obj;
  at?: { ms: number; iso: string };
  reasons?: string[];
  md5?: string;
  previousIp?: string;
}

function normalizeDetails(d: Obj | null | undefined): DetailsOut {
  const out: DetailsOut = { details: {} };
  if (!d) return out;
  for (const [key, value] of Object.entries(d)) {
    switch (key) {
      case 'reason':
        out.reasons = stringArray(value);
        out.details.reason = out.reasons;
        break;
      case 'succeeded_users':
      case 'failed_users': {
        const list = forFlattened(userList(value));
        out.details[key] = list;
        break;
      }
      case 'action_timestamp': {
        const at = actionTimestamp(value);
        if (at) {
          out.at = at;
          out.details.action_timestamp = at.ms;
        } else if (value !== null && value !== undefined) {
          out.details.action_timestamp_raw = forFlattened(value);
        }
        break;
      }
      case 'previous_ua': {
        const v = forFlattened(value);
        if (v !== undefined) out.details.previous_user_agent = v;
        break;
      }
      case 'md5_hash': {
        const v = forFlattened(value);
        if (v !== undefined) out.details.md5 = v;
        if (typeof value === 'string' && /^[0-9a-f]{32}$/i.test(value)) out.md5 = value.toLowerCase();
        break;
      }
      default: {
        const v = forFlattened(value);
        if (v !== undefined) out.details[key === '' ? '_' : key] = v;
        if (key === 'previous_ip_address' && typeof value === 'string') out.previousIp = value;
      }
    }
  }
  return out;
}

/** A string ES's `ip` type accepts (dotted quad or plain IPv6), else undefined. */
export function validIp(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = v.trim();
  if (s === '' || s.includes('%')) return undefined;
  // node:net's dotted-quad check accepts exactly what ipaddr's four-part-decimal check does, without building an object.
  if (isIPv4(s)) return s;
  if (s.includes(':') && ipaddr.IPv6.isValid(s)) return s;
  return undefined;
}

function entityTarget(entity: Obj | null | undefined): { type: string | undefined; body: Obj | undefined } {
  if (!entity) return { type: undefined, body: undefined };
  const type = text(entity.type);
  if (type !== undefined && isObj(entity[type])) return { type, body: entity[type] };
  // Unknown or mismatched type: use the first object-valued key (the entity payload).
  const key = Object.keys(entity).find((k) => k !== 'type' && isObj(entity[k]));
  return { type: type ?? key, body: key === undefined ? undefined : (entity[key] as Obj) };
}

function entityFields(type: string | undefined, body: Obj | undefined, entity: Obj | null | undefined): Obj {
  const out: Obj = {};
  if (type !== undefined) out.entity_type = type;
  const other: Obj = {};
  for (const [k, v] of Object.entries(body ?? {})) {
    if (ENTITY_BOOLEANS.has(k) && typeof v === 'boolean') out[k] = v;
    else if (ENTITY_KEYWORDS.has(k) && text(v) !== undefined) out[k] = text(v);
    else if (ENTITY_KEYWORDS.has(k) && Array.isArray(v) && v.every((x) => text(x) !== undefined)) out[k] = v.map((x) => text(x));
    else if (v !== null && v !== undefined && v !== '') other[k] = v;
  }
  // Keys of the entity object other than `type` and the payload (an unknown shape) are kept too.
  for (const [k, v] of Object.entries(entity ?? {})) {
    if (k !== 'type' && (body === undefined || entity?.[k] !== body) && v !== null && v !== undefined) other[`_entity.${k}`] = v;
  }
  if (Object.keys(other).length > 0) out.other = forFlattened(other);
  return out;
}

function pickUnknown(obj: unknown, known: Set<string>): Obj | undefined {
  if (!isObj(obj)) return undefined;
  const out: Obj = {};
  for (const [k, v] of Object.entries(obj)) if (!known.has(k) && v !== undefined && v !== null) out[k] = v;
  return Object.keys(out).length > 0 ? out : undefined;
}

function compact<T extends Obj>(o: T): T | undefined {
  for (const k of Object.keys(o)) if (o[k] === undefined) Reflect.deleteProperty(o, k);
  return Object.keys(o).length > 0 ? o : undefined;
}

/** Enrichment is best effort: a failing lookup leaves its fields out, it never rejects the event. */
function attempt<T>(fn: () => T | undefined): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

function pushUnique(list: string[], ...values: (string | undefined)[]): void {
  for (const v of values) if (v !== undefined && v !== '' && !list.includes(v)) list.push(v);
}

// ── the mapping itself ───────────────────────────────────────────────────────────────────────────────

function normalize(raw: unknown, ctx: Partial<NormalizeContext>, serialized: string | undefined): NormalizeResult {
  const v = validate(raw);
  if ('ok' in v) return v;
  const { entry: e, repaired } = v;
  const cat = categorize(e.action);
  const d = normalizeDetails(e.details);
  const createdIso = new Date(e.date_create * 1000).toISOString();

  const event: EcsEvent = {
    kind: 'event',
    module: 'slack',
    dataset: 'slack.audit',
    id: e.id,
    action: e.action,
    ...(cat.category.length > 0 ? { category: cat.category } : {}),
    type: cat.type,
    outcome: cat.outcome,
    ...(d.reasons && d.reasons.length > 0 ? { reason: d.reasons.join(', ') } : {}),
    created: createdIso,
    ingested: ctx.ingestedAt ?? new Date().toISOString(),
  };
  if (ctx.keepOriginal ?? true) event.original = serialized ?? JSON.stringify(raw);

  const audit: Obj = { date_create: createdIso };
  if (ctx.sourceId !== undefined) audit.source_id = ctx.sourceId;
  const doc: EcsDocument = {
    // Anomalies carry when the behaviour happened (details.action_timestamp); that is the event's time.
    '@timestamp': d.at?.iso ?? createdIso,
    ecs: { version: ECS_VERSION },
    event,
    data_stream: { type: 'logs', dataset: 'slack.audit', namespace: ctx.namespace ?? 'default' },
    slack: { audit },
  };
  if (event.original !== undefined) doc.tags = ['preserve_original_event'];

  // Actor -> user.*
  const actor = e.actor ?? undefined;
  const au = actor?.user ?? undefined;
  const user: Obj = {};
  if (au) {
    user.id = text(au.id);
    user.email = text(au.email);
    user.full_name = text(au.name);
  }
  const actorMeta = compact<Obj>({ type: text(actor?.type), team: text(au?.team) });
  if (actorMeta) audit.actor = actorMeta;

  // Entity -> slack.audit.entity (Elastic's shape), user.target.* for users, file.* for files.
  const { type: entityType, body } = entityTarget(e.entity);
  const entityOut = entityFields(entityType, body, e.entity);
  if (Object.keys(entityOut).length > 0) audit.entity = entityOut;
  let target: Obj | undefined;
  if (entityType === 'user' && body) {
    target = compact<Obj>({ id: text(body.id), email: text(body.email), full_name: text(body.name), domain: text(body.team) });
    if (target) user.target = target;
  }
  const userOut = compact(user);
  if (userOut) doc.user = userOut;
  if (entityType === 'file' && body) {
    const filetype = text(body.filetype);
    const file = compact<Obj>({
      name: text(body.name),
      mime_type: filetype?.includes('/') ? filetype : undefined,
      hash: d.md5 ? { md5: d.md5 } : undefined,
    });
    if (file) doc.file = file;
  }

  // Context -> source.*, user_agent.*, slack.audit.context.*, organization.*
  const c = e.context ?? undefined;
  const loc = c?.location ?? undefined;
  const context = compact<Obj>({
    type: text(loc?.type),
    id: text(loc?.id),
    name: text(loc?.name),
    domain: text(loc?.domain),
    session_id: text(c?.session_id),
    app: isObj(c?.app) ? forFlattened(c.app) : undefined,
  });
  if (context) audit.context = context;
  if (loc?.type === 'enterprise') {
    const org = compact<Obj>({ id: text(loc.id), name: text(loc.name) });
    if (org) doc.organization = org;
  } else if (entityType === 'enterprise' && body) {
    const org = compact<Obj>({ id: text(body.id), name: text(body.name) });
    if (org) doc.organization = org;
  }

  const ipText = typeof c?.ip_address === 'string' ? c.ip_address.trim() : undefined;
  const ip = validIp(ipText);
  if (ipText) {
    const source: Obj = { address: ipText };
    if (ip) {
      source.ip = ip;
      const geo = attempt(() => ctx.geo?.(ip));
      if (geo && Object.keys(geo).length > 0) source.geo = { ...geo }; // enrichers cache results: copy
      const as = attempt(() => ctx.asn?.(ip));
      if (as && Object.keys(as).length > 0) source.as = { ...as };
    }
    doc.source = source;
  }

  const ua = typeof c?.ua === 'string' && c.ua !== '' ? c.ua : undefined;
  if (ua) doc.user_agent = { original: ua, ...(attempt(() => ctx.userAgent?.(ua)) ?? {}) };

  // Related fields: actor and target users, source and previous IPs, file hash.
  const relatedUser: string[] = [];
  pushUnique(relatedUser, user.id as string | undefined, user.email as string | undefined);
  pushUnique(relatedUser, target?.id as string | undefined, target?.email as string | undefined);
  const relatedIp: string[] = [];
  pushUnique(relatedIp, ip, validIp(d.previousIp));
  const related = compact<Obj>({
    user: relatedUser.length > 0 ? relatedUser : undefined,
    ip: relatedIp.length > 0 ? relatedIp : undefined,
    hash: d.md5 ? [d.md5] : undefined,
  });
  if (related) doc.related = related;

  if (Object.keys(d.details).length > 0) audit.details = d.details;

  // Nothing dropped: unknown top-level, context, location and actor keys, and schema-repaired values.
  const extra: Obj = { ...pickUnknown(raw, TOP_LEVEL_KEYS) };
  const keepUnknown = (key: string, obj: unknown, known: Set<string>) => {
    const unknown = pickUnknown(obj, known);
    if (unknown) extra[key] = unknown;
  };
  keepUnknown('context', c, CONTEXT_KEYS);
  keepUnknown('location', loc, LOCATION_KEYS);
  keepUnknown('actor', actor, ACTOR_KEYS);
  keepUnknown('actor_user', au, ACTOR_USER_KEYS);
  if (Object.keys(repaired).length > 0) extra.invalid = repaired;
  if (Object.keys(extra).length > 0) audit.extra = forFlattened(extra);

  return { ok: true, doc, id: e.id, dateCreate: e.date_create };
}
