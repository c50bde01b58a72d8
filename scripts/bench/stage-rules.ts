/**
 * Stage 2: the normalized documents through the default rule pack, with rule state in Redis (the same
 * RedisRuleState the rules worker uses), in batches the size of an ingest job. Wall-clock events/s includes
 * the Redis round trips; the CPU figure is this process only (Redis' own CPU is another process).
 */
import type { Redis } from 'ioredis';
import { names } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { compileRule, evaluateBatch, type CompiledRule } from '../../src/rules/evaluate.js';
import { configuredRulePaths, loadRulesOrThrow } from '../../src/rules/load.js';
import { RedisRuleState } from '../../src/rules/state-redis.js';
import { RssSampler } from './measure.js';
import type { NormalizedEvent } from './stage-normalize.js';

export interface RulesFigures {
  events: number;
  rules: number;
  ruleTypes: string[];
  batchSize: number;
  seconds: number;
  cpuSeconds: number;
  eps: number;
  cpuUsPerEvent: number;
  hits: number;
  hitsByType: Record<string, number>;
  redisKeys: number;
  peakRss: number;
}

export async function runRules(config: Config, redis: Redis, docs: readonly NormalizedEvent[]): Promise<RulesFigures> {
  const rss = new RssSampler();
  const rules: CompiledRule[] = loadRulesOrThrow(configuredRulePaths(config)).map(({ rule }) => compileRule(rule));
  const state = new RedisRuleState(redis, { prefix: names(config).redisPrefix });
  const batchSize = config.collector.jobMaxEntries;
  const events = docs.map((d) => d.doc as Record<string, unknown>);
  const hitsByType: Record<string, number> = {};
  let hits = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += batchSize) {
    const res = await evaluateBatch(rules, events.slice(i, i + batchSize), state);
    hits += res.hits.length;
    for (const h of res.hits) hitsByType[h.rule.rule.type] = (hitsByType[h.rule.rule.type] ?? 0) + 1;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  let redisKeys = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${names(config).redisPrefix}:rules:*`, 'COUNT', 1000);
    cursor = next;
    redisKeys += keys.length;
  } while (cursor !== '0');
  return {
    events: events.length,
    rules: rules.length,
    ruleTypes: [...new Set(rules.map((r) => r.rule.type))].sort(),
    batchSize,
    seconds,
    cpuSeconds,
    eps: events.length / seconds,
    cpuUsPerEvent: (cpuSeconds * 1e6) / Math.max(1, events.length),
    hits,
    hitsByType,
    redisKeys,
    peakRss: rss.stop(),
  };
}
