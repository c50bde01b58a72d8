import type { estypes } from '@elastic/elasticsearch';
import { z } from 'zod';
import { SlackAuditError } from '../errors.js';
import type { ExportQuery, SortKey } from './types.js';

/**
 * Pure pieces of the export query: time range parsing, the ES bool query for the filters, the stable sort,
 * and which monthly indices can hold events of the range.
 */

export function invalid(message: string, details: Record<string, unknown> = {}): SlackAuditError {
  return new SlackAuditError('SLACK_AUDIT_EXPORT_INVALID', message, { details });
}

// Requires a date and a time with an explicit zone: a local-time ISO string would silently shift the range.
const ISO_RE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/;

export function parseInstant(value: string, flag: string): Date {
  const text = value.trim();
  const ms = ISO_RE.test(text) ? Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw invalid(`${flag}: "${value}" is not an ISO-8601 date or date-time with a zone (e.g. 2024-05-01 or 2024-05-01T00:00:00Z)`, { flag, value });
  }
  return new Date(ms);
}

export function parseTimeRange(from: string, to: string): { from: Date; to: Date } {
  const f = parseInstant(from, '--from');
  const t = parseInstant(to, '--to');
  if (f.getTime() >= t.getTime()) {
    throw invalid(`bad time range: --from (${f.toISOString()}) must be before --to (${t.toISOString()}); --to is exclusive`, { from, to });
  }
  return { from: f, to: t };
}

/** The ES query for the filters; `from` inclusive, `to` exclusive. */
export function buildEsQuery(q: ExportQuery): Record<string, unknown> {
  const filter: Array<Record<string, unknown>> = [
    { range: { '@timestamp': { gte: q.from, lt: q.to, format: 'strict_date_optional_time_nanos' } } },
  ];
  if (q.source !== null) {
    // The normalizer records the configured source id; accept either field name so exports of older
    // documents keep working if it moves.
    filter.push({
      bool: {
        should: [{ term: { 'slack.audit.source_id': q.source } }, { term: { 'labels.slack_source': q.source } }],
        minimum_should_match: 1,
      },
    });
  }
  if (q.actions !== null) filter.push({ terms: { 'event.action': q.actions } });
  if (q.actor !== null) filter.push({ term: { 'user.id': q.actor } });
  if (q.query !== null) filter.push(q.query);
  return { bool: { filter } };
}

/**
 * @timestamp then event.id, both ascending. The timestamp sort value is requested as a nanosecond ISO string:
 * a date_nanos value as a JSON number would lose precision in JavaScript, and strings can be stored in the
 * resume state as they are. event.id is the Slack id (also the _id), unique, so the pair is a total order
 * and no PIT-specific tiebreaker (_shard_doc) is needed to resume with a new PIT.
 */
export const EXPORT_SORT: estypes.SortCombinations[] = [
  { '@timestamp': { order: 'asc', format: 'strict_date_optional_time_nanos', numeric_type: 'date_nanos' } },
  { 'event.id': { order: 'asc' } },
];
export const EXPORT_SORT_DESCRIPTION = ['@timestamp asc', 'event.id asc'];

const sortValuesSchema = z.array(z.union([z.string(), z.number(), z.null()])).min(2);

export function sortKeyOf(sortValues: unknown): SortKey {
  const parsed = sortValuesSchema.safeParse(sortValues);
  const ts = parsed.success ? parsed.data[0] : undefined;
  const id = parsed.success ? parsed.data[1] : undefined;
  if (typeof ts !== 'string' || typeof id !== 'string') {
    throw new SlackAuditError('SLACK_AUDIT_EXPORT_INVALID', `a document has no usable sort values (needs @timestamp and event.id): ${JSON.stringify(sortValues)}`);
  }
  return [ts, id];
}

export const ESQuerySchema = z.record(z.string(), z.unknown());

/** Parse a --query file: one ES query DSL object, e.g. {"term": {"source.geo.country_iso_code": "RU"}}. */
export function parseQueryFile(text: string, path: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw invalid(`--query ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = ESQuerySchema.safeParse(doc);
  if (!parsed.success || Object.keys(parsed.data).length === 0) throw invalid(`--query ${path} must hold one ES query object, e.g. {"term": {"event.outcome": "failure"}}`);
  // Accept both a bare query and {"query": {...}} as copied from a search body.
  const inner = parsed.data.query;
  if (Object.keys(parsed.data).length === 1 && inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
    return inner as Record<string, unknown>;
  }
  return parsed.data;
}

/**
 * Month suffixes (YYYY.MM) of the monthly event indices that can hold events in [from, to), with one month of
 * slack each side (an anomaly's @timestamp comes from details.action_timestamp, not date_create, which picks
 * the index).
 */
export function monthsForRange(from: Date, to: Date): Set<string> {
  const out = new Set<string>();
  const start = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() - 1, 1));
  const last = new Date(to.getTime() - 1);
  const end = new Date(Date.UTC(last.getUTCFullYear(), last.getUTCMonth() + 1, 1));
  for (let d = start; d.getTime() <= end.getTime(); d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1))) {
    out.add(`${d.getUTCFullYear()}.${String(d.getUTCMonth() + 1).padStart(2, '0')}`);
  }
  return out;
}

/** Keep indices whose name ends in one of the months; names that do not end in YYYY.MM are kept (safe side). */
export function indicesForRange(indices: readonly string[], prefix: string, from: Date, to: Date): string[] {
  const months = monthsForRange(from, to);
  return indices
    .filter((name) => {
      const suffix = name.startsWith(prefix) ? name.slice(prefix.length) : name;
      return !/^\d{4}\.\d{2}$/.test(suffix) || months.has(suffix);
    })
    .sort();
}
