import { Queue, Worker, type Job } from 'bullmq';
import { names } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import type { Logger } from '../src/observe/logger.js';
import { metrics } from '../src/observe/metrics.js';
import { QUEUES, type RulesJobV1 } from '../src/queue/jobs.js';
import { bullPrefix, createRedis } from '../src/queue/connection.js';
import { EsActionRecorder } from '../src/respond/records.js';
import { GuardStore } from '../src/respond/guards.js';
import type { AuditLogLookup, SessionResetter } from '../src/respond/types.js';
import { enqueueActions, startActionsWorker } from '../src/respond/worker.js';
import { BudgetedAuditLookup } from '../src/respond/budgeted-audit-lookup.js';
import { RateBudget } from '../src/collect/rate-budget.js';
import { EsAlertSink } from '../src/rules/alerts.js';
import { processRulesBatch, type RulesEngineDeps } from '../src/rules/engine.js';
import { compileRule } from '../src/rules/evaluate.js';
import { configuredRulePaths, loadRulesOrThrow } from '../src/rules/load.js';
import { documentsForRules } from '../src/rules/rules-job.js';
import { checkCollectionStalls } from '../src/rules/stall.js';
import { RedisRuleState } from '../src/rules/state-redis.js';
import { deadLetterUndecodableJob } from '../src/sink/dead-letter.js';
import { createEsClient } from '../src/sink/es-client.js';
import { SlackAdminClient } from '../src/slack/admin-client.js';
import { AuditLogsClient } from '../src/slack/audit-client.js';

/**
 * The rules role: a BullMQ worker on QUEUES.rules (normalized event batches -> alerts), the actions worker
 * on QUEUES.actions (guarded responses) and the collection-stall timer. Rule files are loaded and compiled
 * once at start; a bad rule file fails the start with the file and key path of every problem.
 */
export interface RulesWorkerOverrides {
  resetter?: SessionResetter;
  audit?: AuditLogLookup;
  /** Test knobs for the actions worker (stalled-job recovery after a crash). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Run only the actions worker (crash tests). */
  actionsOnly?: boolean;
}

function rulesJob(data: unknown): RulesJobV1 | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as Partial<RulesJobV1>;
  if (d.v !== 1 || !Array.isArray(d.events)) return undefined;
  if (d.fields !== undefined && (!Array.isArray(d.fields) || d.fields.some((f) => typeof f !== 'string'))) return undefined;
  return d as RulesJobV1;
}

export async function startRulesWorker(config: Config, log: Logger, overrides: RulesWorkerOverrides = {}): Promise<{ close(): Promise<void> }> {
  const rlog = log.child({ component: 'rules' });
  const rules = loadRulesOrThrow(configuredRulePaths(config)).map(({ rule }) => compileRule(rule));
  const n = names(config);
  const redis = createRedis(config, 'worker');
  const es = createEsClient(config);
  const guards = new GuardStore(redis, n.redisPrefix);
  const actionsQueue = new Queue(QUEUES.actions, { connection: redis, prefix: bullPrefix(config) });
  const alerts = new EsAlertSink(es, n.alertsIndex, config.rules.eventIdsCap);

  const adminToken = config.slackAdmin.token;
  const resetter = overrides.resetter ?? (adminToken ? new SlackAdminClient({ baseUrl: config.slackAdmin.apiUrl, token: adminToken, timeoutMs: config.collector.httpTimeoutMs }) : undefined);
  const auditSource = config.sources.find((s) => s.enabled && s.token);
  const auditClient = auditSource?.token ? new AuditLogsClient({ baseUrl: auditSource.apiUrl, token: auditSource.token, sourceId: auditSource.id, timeoutMs: config.collector.httpTimeoutMs }) : undefined;
  const audit =
    overrides.audit ??
    (auditSource && auditClient ? new BudgetedAuditLookup((q) => auditClient.fetchPage(q), RateBudget.forSource(redis, config, auditSource)) : undefined);
  if (config.responses.mode === 'enforce' && !resetter) rlog.warn('responses.mode is enforce but no Slack admin token is configured: session resets will be recorded as failed');

  const actions = startActionsWorker(config, log, {
    resetter,
    audit,
    recorder: new EsActionRecorder(es, n.actionsIndex, n.alertsIndex, rlog),
    connection: createRedis(config, 'worker'),
    ...(overrides.lockDurationMs !== undefined ? { lockDurationMs: overrides.lockDurationMs } : {}),
    ...(overrides.stalledIntervalMs !== undefined ? { stalledIntervalMs: overrides.stalledIntervalMs } : {}),
  });
  const actionsConnection = actions.worker.opts.connection as { disconnect?: () => void };

  const deps: RulesEngineDeps = {
    config,
    rules,
    state: new RedisRuleState(redis, { prefix: n.redisPrefix }),
    alerts,
    enqueue: (jobs) => enqueueActions(actionsQueue, config, jobs),
    guards,
    log: rlog,
  };

  let worker: Worker | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (!overrides.actionsOnly) {
    worker = new Worker(
      QUEUES.rules,
      async (job: Job) => {
        const data = rulesJob(job.data);
        if (!data) {
          // A payload from a newer (or broken) producer: never crash, never guess; park it where an operator sees it.
          await deadLetterUndecodableJob(es, config, job, 'unsupported rules job payload (not evaluated)');
          rlog.error({ jobId: job.id, v: (job.data as { v?: unknown } | null)?.v }, 'rules job payload not understood; dead-lettered');
          return { deadLettered: 1 };
        }
        const started = Date.now();
        const events = await documentsForRules(data, { es, eventsAlias: n.eventsAlias, log: rlog });
        const out = await processRulesBatch(deps, events, data.sourceId);
        metrics.jobDuration.observe({ queue: QUEUES.rules, outcome: 'ok' }, (Date.now() - started) / 1000);
        return { alerts: out.written.length, actions: out.actionsEnqueued, ignoredOwn: out.ignoredOwn };
      },
      { connection: createRedis(config, 'worker'), prefix: bullPrefix(config), concurrency: 1 },
    );
    worker.on('error', (err) => {
      rlog.error({ err }, 'rules worker error');
    });

    let checking = false;
    const stallCheck = async () => {
      if (checking) return;
      checking = true;
      try {
        await checkCollectionStalls({ config, redis, rules, alerts, enqueue: deps.enqueue, log: rlog });
      } catch (err) {
        rlog.warn({ err }, 'collection-stall check failed');
      } finally {
        checking = false;
      }
    };
    timer = setInterval(() => void stallCheck(), config.rules.stallCheckSeconds * 1000);
    timer.unref();
  }
  await Promise.all([actions.worker.waitUntilReady(), worker?.waitUntilReady()]);
  rlog.info({ rules: rules.length, mode: config.responses.mode }, 'rules worker started');

  return {
    close: async () => {
      if (timer) clearInterval(timer);
      if (worker) {
        const conn = worker.opts.connection as { disconnect?: () => void };
        await worker.close();
        conn.disconnect?.();
      }
      await actions.close();
      actionsConnection.disconnect?.();
      await actionsQueue.close();
      await auditClient?.close();
      if (resetter instanceof SlackAdminClient) await resetter.close();
      redis.disconnect();
      await es.close();
    },
  };
}
