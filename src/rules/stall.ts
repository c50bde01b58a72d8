import type { Redis } from 'ioredis';
import { names } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { writeAlerts, type RulesEngineDeps } from './engine.js';
import type { AlertHit, CompiledRule } from './evaluate.js';
import { alertIdFor } from './evaluate.js';

/**
 * The pipeline watching itself: a `collection_stall` rule alerts when a source has not collected for too
 * long. The collector keeps `<redisPrefix>:source:<id>` with `lastSuccessAt` (last successful poll) and
 * `newestEventAt`; either may be Unix seconds or ms (read by magnitude). A quiet org still polls
 * successfully, so lastSuccessAt is preferred; newestEventAt is the fallback.
 */
export function toMs(v: string | number | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (Number.isFinite(n)) return n > 0 ? (n < 1e11 ? n * 1000 : n) : undefined;
  // An ISO string, should a collector ever write one.
  const t = Date.parse(String(v));
  return Number.isNaN(t) ? undefined : t;
}

export function stallHit(rule: CompiledRule, sourceId: string, state: Record<string, string | number>, now: number, defaultAfterMs: number): AlertHit | undefined {
  const r = rule.rule;
  if (r.type !== 'collection_stall' || !r.enabled) return undefined;
  const last = toMs(state.lastSuccessAt) ?? toMs(state.newestEventAt);
  if (last === undefined) return undefined;
  const after = r.after ?? defaultAfterMs;
  if (now - last < after) return undefined;
  // One alert per stall episode: keyed by the last success, so later checks update it instead of adding one.
  const bucket = `stall:${last}`;
  return {
    alertId: alertIdFor(r.id, sourceId, bucket),
    rule,
    groupKey: sourceId,
    groupValues: { 'slack.audit.source_id': sourceId },
    bucket,
    eventIds: [],
    count: 1,
    firstSeen: last,
    lastSeen: now,
    representative: { '@timestamp': new Date(now).toISOString(), slack: { audit: { source_id: sourceId } } },
  };
}

export interface StallCheckDeps extends Pick<RulesEngineDeps, 'alerts' | 'enqueue' | 'log'> {
  config: Config;
  redis: Redis;
  rules: readonly CompiledRule[];
  now?: () => number;
}

/** Run every collection_stall rule against every enabled source; returns the hits raised. */
export async function checkCollectionStalls(deps: StallCheckDeps): Promise<AlertHit[]> {
  const rules = deps.rules.filter((r) => r.rule.type === 'collection_stall' && r.rule.enabled);
  const sources = deps.config.sources.filter((s) => s.enabled);
  if (rules.length === 0 || sources.length === 0) return [];
  const now = (deps.now ?? Date.now)();
  const prefix = names(deps.config).redisPrefix;
  const pipe = deps.redis.pipeline();
  for (const s of sources) pipe.hgetall(`${prefix}:source:${s.id}`);
  const results = (await pipe.exec()) ?? [];
  const hits: AlertHit[] = [];
  sources.forEach((s, i) => {
    const [err, value] = results[i] ?? [null, {}];
    if (err) {
      deps.log.warn({ err, source: s.id }, 'cannot read source state for the stall check');
      return;
    }
    const state = (value ?? {}) as Record<string, string>;
    for (const rule of rules) {
      const hit = stallHit(rule, s.id, state, now, deps.config.rules.stallMinutes * 60_000);
      if (hit) hits.push(hit);
    }
  });
  if (hits.length > 0) {
    deps.log.warn({ sources: hits.map((h) => h.groupKey) }, 'collection stalled');
    await writeAlerts(deps, hits, now);
  }
  return hits;
}

