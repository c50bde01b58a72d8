import { stringify } from 'csv-stringify/sync';

/**
 * One ES document -> one exported record. Pure functions: the bytes they return depend only on the document,
 * never on the clock or the run, which is what makes a resumed export equal an uninterrupted one.
 *
 * NDJSON (one JSON object per line, `\n` terminated):
 *   {"ecs": <the ECS document as indexed, without event.original>,
 *    "original": <the Slack Audit Logs entry>,
 *    "original_source": "event.original" | "reconstructed"}
 * `original` is `event.original` parsed back when the pipeline kept it (elasticsearch.keepOriginal, the
 * default); otherwise it is rebuilt from the ECS fields (`original_source: "reconstructed"`), which keeps the
 * Slack field names and values but can lack fields the normalizer did not map.
 *
 * CSV: RFC 4180 (csv-stringify: fields containing a comma, quote, CR or LF are quoted, quotes are doubled;
 * UTF-8 without BOM; `\n` record separator); every file starts with the header row below.
 * Columns (CSV_COLUMNS), empty when the document has no value:
 *   timestamp        @timestamp (ISO-8601 UTC, as indexed)
 *   event_id         event.id (the Slack entry id)
 *   action           event.action
 *   source_id        the configured source (slack.audit.source_id or labels.slack_source)
 *   category         event.category, comma-joined
 *   type             event.type, comma-joined
 *   outcome          event.outcome
 *   actor_id         user.id
 *   actor_email      user.email
 *   actor_name       user.full_name (user.name when absent)
 *   target_user_id   user.target.id
 *   target_user_email user.target.email
 *   entity_type      slack.audit.entity.entity_type (entity.type of the original)
 *   entity_id        slack.audit.entity.id
 *   entity_name      slack.audit.entity.name
 *   location_type    slack.audit.context.type (workspace | enterprise)
 *   location_id      slack.audit.context.id
 *   location_name    slack.audit.context.name
 *   source_ip        source.ip
 *   source_country   source.geo.country_iso_code
 *   source_city      source.geo.city_name
 *   user_agent       user_agent.original
 *   session_id       slack.audit.context.session_id
 *   details_json     slack.audit.details as JSON
 *   original_json    the Slack entry as JSON (same value as NDJSON `original`)
 */
export const CSV_COLUMNS = [
  'timestamp',
  'event_id',
  'action',
  'source_id',
  'category',
  'type',
  'outcome',
  'actor_id',
  'actor_email',
  'actor_name',
  'target_user_id',
  'target_user_email',
  'entity_type',
  'entity_id',
  'entity_name',
  'location_type',
  'location_id',
  'location_name',
  'source_ip',
  'source_country',
  'source_city',
  'user_agent',
  'session_id',
  'details_json',
  'original_json',
] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];

export type EcsDoc = Record<string, unknown>;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Read a dotted ECS path from a document that may use nested objects, dotted keys, or a mix of both. */
export function getPath(doc: unknown, path: string): unknown {
  if (!isObject(doc)) return undefined;
  if (path in doc) return doc[path];
  const parts = path.split('.');
  for (let i = parts.length - 1; i >= 1; i--) {
    const head = parts.slice(0, i).join('.');
    if (head in doc) {
      const found = getPath(doc[head], parts.slice(i).join('.'));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** The document without event.original (nested or dotted), so NDJSON does not carry the entry twice. */
export function withoutOriginal(doc: EcsDoc): EcsDoc {
  const out: EcsDoc = {};
  for (const [k, v] of Object.entries(doc)) {
    if (k === 'event.original') continue;
    if (k === 'event' && isObject(v) && 'original' in v) {
      const { original: _drop, ...rest } = v;
      out[k] = rest;
      continue;
    }
    out[k] = v;
  }
  return out;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function setIf(target: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined && value !== null) target[key] = value;
}

/** Seconds since the epoch for an ISO timestamp, or undefined. */
function isoToSeconds(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

/**
 * Rebuild a Slack entry from the ECS fields when event.original was not kept. The mapping is the inverse of
 * the normalizer's (Elastic's Slack integration names: slack.audit.context/entity/details, user.*, source.ip).
 */
export function reconstructOriginal(doc: EcsDoc): Record<string, unknown> {
  const entry: Record<string, unknown> = {};
  setIf(entry, 'id', str(getPath(doc, 'event.id')));
  // date_create is whole seconds. The normalizer keeps it as slack.audit.date_create (ISO) because anomaly
  // events take @timestamp from details.action_timestamp; fall back to @timestamp.
  const dateCreate = getPath(doc, 'slack.audit.date_create');
  setIf(entry, 'date_create', typeof dateCreate === 'number' ? dateCreate : (isoToSeconds(dateCreate) ?? isoToSeconds(getPath(doc, '@timestamp'))));
  setIf(entry, 'action', str(getPath(doc, 'event.action')));

  const user: Record<string, unknown> = {};
  setIf(user, 'id', str(getPath(doc, 'user.id')));
  setIf(user, 'name', str(getPath(doc, 'user.full_name')) ?? str(getPath(doc, 'user.name')));
  setIf(user, 'email', str(getPath(doc, 'user.email')));
  setIf(user, 'team', str(getPath(doc, 'slack.audit.actor.team')) ?? str(getPath(doc, 'user.domain')));
  if (Object.keys(user).length > 0) entry.actor = { type: str(getPath(doc, 'slack.audit.actor.type')) ?? 'user', user };

  const entityFlat = getPath(doc, 'slack.audit.entity');
  if (isObject(entityFlat)) {
    const { entity_type: entityType, other, ...known } = entityFlat;
    // Entity keys the normalizer has no field for sit under `other` (Slack's own names, or `_entity.<key>`
    // for keys of the entity wrapper itself).
    const rest: Record<string, unknown> = { ...known };
    if (isObject(other)) for (const [k, v] of Object.entries(other)) if (!k.startsWith('_entity.')) rest[k] = v;
    const type = str(entityType);
    entry.entity = type === undefined ? { ...rest } : { type, [type]: rest };
  }

  const context: Record<string, unknown> = {};
  const ctx = getPath(doc, 'slack.audit.context');
  if (isObject(ctx)) {
    const location: Record<string, unknown> = {};
    for (const k of ['type', 'id', 'name', 'domain']) setIf(location, k, ctx[k]);
    if (Object.keys(location).length > 0) context.location = location;
  }
  setIf(context, 'ua', str(getPath(doc, 'user_agent.original')));
  setIf(context, 'ip_address', str(getPath(doc, 'source.address')) ?? str(getPath(doc, 'source.ip')));
  if (isObject(ctx)) setIf(context, 'session_id', ctx.session_id);
  const app = getPath(doc, 'slack.audit.context.app');
  if (isObject(app)) context.app = app;
  if (Object.keys(context).length > 0) entry.context = context;

  const details = getPath(doc, 'slack.audit.details');
  if (details !== undefined && details !== null) entry.details = details;
  return entry;
}

export interface OriginalEntry {
  entry: unknown;
  source: 'event.original' | 'reconstructed';
}

export function originalEntry(doc: EcsDoc): OriginalEntry {
  const raw = getPath(doc, 'event.original');
  if (typeof raw === 'string') {
    try {
      return { entry: JSON.parse(raw) as unknown, source: 'event.original' };
    } catch {
      // A non-JSON event.original cannot be the Slack entry; fall back to the ECS fields.
    }
  }
  return { entry: reconstructOriginal(doc), source: 'reconstructed' };
}

export function ndjsonLine(doc: EcsDoc): string {
  const original = originalEntry(doc);
  return `${JSON.stringify({ ecs: withoutOriginal(doc), original: original.entry, original_source: original.source })}\n`;
}

function joinList(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.map((x) => str(x) ?? JSON.stringify(x)).join(',');
  return str(v);
}

function jsonOrEmpty(v: unknown): string {
  return v === undefined || v === null ? '' : JSON.stringify(v);
}

export function csvValues(doc: EcsDoc): Record<CsvColumn, string> {
  const g = (p: string) => str(getPath(doc, p)) ?? '';
  return {
    timestamp: g('@timestamp'),
    event_id: g('event.id'),
    action: g('event.action'),
    source_id: str(getPath(doc, 'slack.audit.source_id')) ?? g('labels.slack_source'),
    category: joinList(getPath(doc, 'event.category')) ?? '',
    type: joinList(getPath(doc, 'event.type')) ?? '',
    outcome: g('event.outcome'),
    actor_id: g('user.id'),
    actor_email: g('user.email'),
    actor_name: str(getPath(doc, 'user.full_name')) ?? g('user.name'),
    target_user_id: g('user.target.id'),
    target_user_email: g('user.target.email'),
    entity_type: g('slack.audit.entity.entity_type'),
    entity_id: g('slack.audit.entity.id'),
    entity_name: g('slack.audit.entity.name'),
    location_type: g('slack.audit.context.type'),
    location_id: g('slack.audit.context.id'),
    location_name: g('slack.audit.context.name'),
    source_ip: g('source.ip'),
    source_country: g('source.geo.country_iso_code'),
    source_city: g('source.geo.city_name'),
    user_agent: g('user_agent.original'),
    session_id: g('slack.audit.context.session_id'),
    details_json: jsonOrEmpty(getPath(doc, 'slack.audit.details')),
    original_json: jsonOrEmpty(originalEntry(doc).entry),
  };
}

export function csvHeader(): string {
  return stringify([[...CSV_COLUMNS]]);
}

export function csvLine(doc: EcsDoc): string {
  const v = csvValues(doc);
  return stringify([CSV_COLUMNS.map((c) => v[c])]);
}

export function formatRecord(format: 'ndjson' | 'csv', doc: EcsDoc): string {
  return format === 'csv' ? csvLine(doc) : ndjsonLine(doc);
}
