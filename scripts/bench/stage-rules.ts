/**
 * Stage 2: the normalized documents through the default rule pack exactly as the rules worker runs them
 * (processRulesBatch: own-response filter, evaluation, RedisRuleState, alert upserts into the namespace's
 * alerts index), in batches the size of an ingest job. Only the BullMQ transport and the response actions
 * are left out (actions are counted, not enqueued). Wall-clock events/s includes the Redis and ES round trips;
 * the CPU figure is this process only.
 */
import type { Client } from '@elastic/elasticsearch';
import type { Redis } from 'ioredis';
import { names } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/observe/logger.js';
import { GuardStore } from '../../src/respond/guards.js';
import { EsAlertSink } from '../../src/rules/alerts.js';
import { processRulesBatch } from '../../src/rules/engine.js';
import { compileRule, type CompiledRule } from '../../src/rules/evaluate.js';
import { configuredRulePaths, loadRulesOrThrow } from '../../src/rules/load.js';
import { RedisRuleState } from '../../src/rules/state-redis.js';
import { installTemplates } from '../../src/sink/templates.js';
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
  alertsWritten: number;
  /** Wall seconds spent in alert upserts (ES). */
  alertSeconds: number;
  actions: number;
  redisKeys: number;
  peakRss: number;
}

export async function runRules(config: Config, es: Client, redis: Redis, docs: readonly NormalizedEvent[]): Promise<RulesFigures> {
  const rules: CompiledRule[] = loadRulesOrThrow(configuredRulePaths(config)).map(({ rule }) => compileRule(rule));
  await installTemplates(es, config);
  const n = names(config);
  let actions = 0;
  let alertsWritten = 0;
  let alertSeconds = 0;
  const sink = new EsAlertSink(es, n.alertsIndex, config.rules.eventIdsCap);
  const deps = {
    config,
    rules,
    state: new RedisRuleState(redis, { prefix: n.redisPrefix }),
    alerts: {
      // Timed, so the table can split evaluation + Redis state from the alert writes to ES.
      upsert: async (alertDocs: Parameters<EsAlertSink['upsert']>[0]) => {
        const a0 = performance.now();
        try {
          return await sink.upsert(alertDocs);
        } finally {
          alertSeconds += (performance.now() - a0) / 1000;
        }
      },
    },
    enqueue: (jobs: readonly unknown[]) => {
      actions += jobs.length;
      return Promise.resolve();
    },
    guards: new GuardStore(redis, n.redisPrefix),
    log: createLogger({ level: 'warn', pretty: false }),
  };
  const rss = new RssSampler();
  const batchSize = config.collector.jobMaxEntries;
  const events = docs.map((d) => d.doc as Record<string, unknown>);
  const hitsByType: Record<string, number> = {};
  let hits = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += batchSize) {
    const res = await processRulesBatch(deps, events.slice(i, i + batchSize), 'bench');
    hits += res.hits.length;
    alertsWritten += res.written.filter((w) => w.result !== 'noop').length;
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
    alertsWritten,
    alertSeconds,
    actions,
    redisKeys,
    peakRss: rss.stop(),
  };
}
