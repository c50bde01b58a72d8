import type { Command } from 'commander';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { loadConfig, names, PROJECT_ROOT } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, setRootLogger } from '../observe/logger.js';
import { metrics } from '../observe/metrics.js';
import { createEsClient } from '../sink/es-client.js';
import { bullPrefix, deleteKeysMatching } from '../queue/connection.js';
import { QUEUES } from '../queue/jobs.js';
import { startPipeline } from '../pipeline.js';
import { startSimulator } from '../sim/server.js';
import { ADMIN_ACTOR_ID, OWN_APP_ID, PRIMARY_OWNER_ID, PROTECTED_ADMIN_ID } from '../sim/story.js';
import { readSummary, renderSummary, type DemoSummary } from '../demo/summary.js';

interface DemoOptions {
  duration: string;
  namespace: string;
  seed: string;
  events: string;
  responses: 'enforce' | 'dry-run';
  services: boolean;
  jsonSummary?: string;
  keep: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the whole pipeline against the simulator with the attack story, then print a summary')
    .option('--duration <seconds>', 'how long to run before summarizing (Ctrl-C summarizes early)', '60')
    .option('--namespace <ns>', 'namespace for the demo indices and Redis keys', 'demo')
    .option('--seed <n>', 'simulator seed', '42')
    .option('--events <n>', 'historical events in the simulated org', '3000')
    .option('--responses <mode>', 'enforce (against the simulator only) or dry-run', 'enforce')
    .option('--no-services', 'do not start local Redis/Elasticsearch (use REDIS_URL/ELASTICSEARCH_URL as they are)')
    .option('--json-summary <file>', 'also write the summary as JSON')
    .option('--keep', 'keep the previous demo data instead of starting clean', false)
    .action(async (opts: DemoOptions) => {
      await runDemo(opts);
    });
}

async function runDemo(opts: DemoOptions): Promise<void> {
  const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
  setRootLogger(log);
  if (opts.services) {
    process.stderr.write('starting local Redis and Elasticsearch if needed (scripts/services.sh up)...\n');
    execFileSync('bash', [resolve(PROJECT_ROOT, 'scripts', 'services.sh'), 'up'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const auditToken = 'xoxp-demo-audit-token-0000000000';
  const adminToken = 'xoxp-demo-admin-token-0000000000';
  const sim = await startSimulator({
    seed: Number(opts.seed),
    token: auditToken,
    adminToken,
    historicalEvents: Number(opts.events),
    historyHours: 24,
    liveRatePerSecond: 2,
    attackStory: true,
    primaryOwnerId: PRIMARY_OWNER_ID,
    faults: { rate429: 0.03, retryAfterSeconds: 1, error5xxRate: 0.02, lateRate: 0.05, maxLatenessSeconds: 30 },
  });
  process.stderr.write(`simulator listening on ${sim.url}\n`);
  const config: Config = loadConfig({
    env: { ...process.env, SLACK_AUDIT_TOKEN: auditToken, SLACK_ADMIN_TOKEN: adminToken },
    overrides: {
      namespace: opts.namespace,
      sources: [{ id: 'demo', apiUrl: sim.auditUrl, pollIntervalSeconds: 2, latenessSeconds: 60, lookbackHours: 25, settleSeconds: 1, rateBudgetPerMinute: 50, rescan: { everyMinutes: 1, lookbackHours: 1 } }],
      slackAdmin: { apiUrl: sim.apiUrl, ownAppIds: [OWN_APP_ID], ownActorIds: [ADMIN_ACTOR_ID] },
      responses: { mode: opts.responses, protectedUsers: [PROTECTED_ADMIN_ID], cooldownMinutes: 60, maxPerHour: 10 },
      metrics: { port: 0 },
      logLevel: 'warn',
    },
  });
  const es = createEsClient(config);
  if (!opts.keep) await cleanNamespace(config, es);
  const pipeline = await startPipeline(config, log, ['scheduler', 'indexer', 'rules']);
  process.stderr.write(`pipeline running (namespace ${config.namespace}, responses ${config.responses.mode}); metrics at ${pipeline.opsUrl ?? '-'}/metrics\n`);

  const n = names(config);
  const until = Date.now() + Number(opts.duration) * 1000;
  const stop = { requested: false };
  const onSigint = () => {
    stop.requested = true;
  };
  process.once('SIGINT', onSigint);
  const tty = process.stderr.isTTY;
  while (!stop.requested && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 2000));
    const indexed = await safeCount(es, n.eventsAlias);
    const alerts = await safeCount(es, n.alertsIndex);
    const responses = await safeCount(es, n.actionsIndex);
    const fetched = (await metrics.eventsFetched.get()).values.reduce((s, v) => s + v.value, 0);
    const lag = (await metrics.lagSeconds.get()).values[0]?.value;
    const left = Math.max(0, Math.round((until - Date.now()) / 1000));
    const line = `fetched ${fetched}  indexed ${indexed}  lag ${lag === undefined ? '-' : `${Math.round(lag)}s`}  alerts ${alerts}  responses ${responses}  (${left}s left, Ctrl-C to stop)`;
    process.stderr.write(tty ? `\r${line}   ` : `${line}\n`);
  }
  process.removeListener('SIGINT', onSigint);
  if (tty) process.stderr.write('\n');
  await pipeline.stop();
  const stats = sim.state.stats;
  const summary: DemoSummary = { ...(await readSummary(es, config)), simulator: { events: sim.state.store.producedIds.length, adminCalls: stats.adminCalls, retryAfterIgnored: stats.retryAfterIgnored } };
  await sim.close();
  await es.close();
  process.stdout.write(renderSummary(summary, config));
  if (opts.jsonSummary) writeFileSync(opts.jsonSummary, `${JSON.stringify(summary, null, 2)}\n`);
}

async function safeCount(es: ReturnType<typeof createEsClient>, index: string): Promise<number> {
  try {
    return (await es.count({ index, ignore_unavailable: true, allow_no_indices: true })).count;
  } catch {
    return 0;
  }
}

/** A demo run starts clean: the simulator's clock restarts, so old watermarks and documents would mislead. */
async function cleanNamespace(config: Config, es: ReturnType<typeof createEsClient>): Promise<void> {
  const n = names(config);
  await es.indices.delete({ index: [`${n.eventsIndexPrefix}*`, n.alertsIndex, n.actionsIndex, n.dlqIndex].join(','), ignore_unavailable: true, allow_no_indices: true });
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 3 });
  for (const q of Object.values(QUEUES)) {
    const queue = new Queue(q, { connection: redis, prefix: bullPrefix(config) });
    await queue.obliterate({ force: true });
    await queue.close();
  }
  await deleteKeysMatching(redis, `${n.redisPrefix}:*`);
  redis.disconnect();
}
