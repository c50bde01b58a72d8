import type { SlackAuditError } from '../errors.js';

/** ECS `*.geo` fields we can fill offline (a subset of https://www.elastic.co/guide/en/ecs/current/ecs-geo.html). */
export interface GeoInfo {
  city_name?: string;
  continent_code?: string;
  continent_name?: string;
  country_iso_code?: string;
  country_name?: string;
  region_iso_code?: string;
  region_name?: string;
  postal_code?: string;
  timezone?: string;
  location?: { lat: number; lon: number };
}

/** ECS `*.as` fields. */
export interface AsnInfo {
  number?: number;
  organization?: { name?: string };
}

/** ECS `user_agent.*` minus `original` (the normalizer sets that itself). */
export interface UaInfo {
  name?: string;
  version?: string;
  os?: { name?: string; version?: string; full?: string };
  device?: { name?: string };
}

export interface NormalizeContext {
  /** Config source id the entry was polled from (multi-org setups). */
  sourceId: string;
  /** Keep the raw entry as `event.original` (config elasticsearch.keepOriginal). */
  keepOriginal: boolean;
  /** `data_stream.namespace` (config namespace); defaults to `default`. */
  namespace?: string;
  geo?: (ip: string) => GeoInfo | undefined;
  asn?: (ip: string) => AsnInfo | undefined;
  userAgent?: (ua: string) => UaInfo | undefined;
  /** ISO time for `event.ingested`; defaults to now (the only impure default, overridable for tests). */
  ingestedAt?: string;
}

export interface EcsEvent {
  kind: 'event';
  module: 'slack';
  dataset: 'slack.audit';
  id: string;
  action: string;
  category?: string[];
  type: string[];
  outcome?: 'success' | 'failure' | 'unknown';
  reason?: string;
  created?: string;
  ingested: string;
  original?: string;
}

/**
 * One normalized Slack audit event. The named keys are always present; everything else (user, source,
 * user_agent, organization, related, file, slack.audit...) is present when the entry carries it.
 */
export interface EcsDocument {
  '@timestamp': string;
  ecs: { version: string };
  event: EcsEvent;
  data_stream: { type: 'logs'; dataset: 'slack.audit'; namespace: string };
  slack: { audit: Record<string, unknown> };
  [key: string]: unknown;
}

export type NormalizeResult =
  | { ok: true; doc: EcsDocument; id: string; dateCreate: number }
  | { ok: false; error: SlackAuditError };
