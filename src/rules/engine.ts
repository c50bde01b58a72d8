import type { Config } from '../config/schema.js';
import type { Logger } from '../observe/logger.js';
import { metrics } from '../observe/metrics.js';
import type { GuardStore } from '../respond/guards.js';
import type { ActionJobV1 } from '../respond/types.js';
import { actionJobsFor } from '../respond/worker.js';
import { buildAlertDocument, type AlertSink, type AlertWriteResult } from './alerts.js';
import { evaluateBatch, type AlertHit, type CompiledRule } from './evaluate.js';
import { compileGetter, eventTimeMs, scalars, type EcsDocument } from './fields.js';
import type { RuleState } from './state.js';

/**
 * One batch through the rules: drop the audit events our own resets produce, remember Slack's own anomaly
 * responses (so we do not reset a user twice), evaluate, upsert alerts, enqueue their actions. Every step is
 * replay-safe: deterministic alert ids, idempotent state, action job id = idempotency key.
 */
export interface RulesEngineDeps {
  config: Config;
  rules: readonly CompiledRule[];
  state: RuleState;
  alerts: AlertSink;
  enqueue: (jobs: readonly ActionJobV1[]) => Promise<void>;
  guards?: GuardStore;
  log: Logger;
  now?: () => number;
}

export interface BatchOutcome {
  hits: AlertHit[];
  written: AlertWriteResult[];
  ignoredOwn: number;
  actionsEnqueued: number;
}

const OWN_RESET_ACTIONS = new Set(['user_session_reset_by_admin', 'bulk_session_reset_by_admin', 'user_session_invalidated']);
export const SLACK_ANOMALY_RESET_ACTION = 'user_sessions_reset_by_anomaly_event_response';
const get = {
  action: compileGetter('event.action'),
  appId: compileGetter('slack.audit.context.app.id'),
  actorId: compileGetter('user.id'),
  targetId: compileGetter('user.target.id'),
};
const one = (v: unknown): string | undefined => {
  const s = scalars(v)[0];
  return s === undefined ? undefined : String(s);
};

/** True for the audit events our own responses produce (our app or our admin actor resetting someone). */
export function isOwnResponseEvent(doc: EcsDocument, config: Pick<Config, 'slackAdmin'>): boolean {
  const action = one(get.action(doc));
  if (action === undefined || !OWN_RESET_ACTIONS.has(action)) return false;
  const app = one(get.appId(doc));
  const actor = one(get.actorId(doc));
  return (app !== undefined && config.slackAdmin.ownAppIds.includes(app)) || (actor !== undefined && config.slackAdmin.ownActorIds.includes(actor));
}

export async function processRulesBatch(deps: RulesEngineDeps, events: readonly EcsDocument[], sourceId?: string): Promise<BatchOutcome> {
  const now = (deps.now ?? Date.now)();
  const kept: EcsDocument[] = [];
  let ignoredOwn = 0;
  const marks: Promise<void>[] = [];
  const recentMs = deps.config.responses.alreadyResetMinutes * 60_000;
  for (const doc of events) {
    if (isOwnResponseEvent(doc, deps.config)) {
      ignoredOwn++;
      continue;
    }
    if (deps.guards && one(get.action(doc)) === SLACK_ANOMALY_RESET_ACTION) {
      const user = one(get.targetId(doc)) ?? one(get.actorId(doc));
      const ts = eventTimeMs(doc);
      // Only recent ones matter: the mark expires when the reset is older than alreadyResetMinutes.
      if (user !== undefined && ts !== undefined && ts + recentMs > now) marks.push(deps.guards.markSlackReset(user, ts, ts + recentMs - now));
    }
    kept.push(doc);
  }
  await Promise.all(marks);

  const res = await evaluateBatch(deps.rules, kept, deps.state, { eventIdsCap: deps.config.rules.eventIdsCap, lateGraceMs: deps.config.rules.lateGraceMinutes * 60_000 });
  for (const r of deps.rules) if (r.rule.enabled && r.rule.type !== 'collection_stall') metrics.ruleEvaluations.inc({ rule: r.id }, kept.length);
  if (res.skipped > 0) deps.log.warn({ skipped: res.skipped }, 'events without @timestamp or event.id were not evaluated');
  return { ...(await writeAlerts(deps, res.hits, now, sourceId)), ignoredOwn };
}

/** Upsert alert documents for hits and enqueue their rules' actions. */
export async function writeAlerts(
  deps: Pick<RulesEngineDeps, 'alerts' | 'enqueue' | 'log'>,
  hits: AlertHit[],
  now: number,
  sourceId?: string,
): Promise<Omit<BatchOutcome, 'ignoredOwn'>> {
  if (hits.length === 0) return { hits, written: [], actionsEnqueued: 0 };
  const docs = hits.map((h) => buildAlertDocument(h, { now, ...(sourceId ? { sourceId } : {}) }));
  const written = await deps.alerts.upsert(docs);
  const jobs: ActionJobV1[] = [];
  hits.forEach((h, i) => {
    const w = written[i];
    if (w && w.result !== 'noop') metrics.alerts.inc({ rule: h.rule.id, severity: h.rule.rule.severity });
    if (w?.result === 'created') deps.log.info({ alertId: h.alertId, rule: h.rule.id, group: h.groupKey, count: h.count }, 'alert raised');
    // Enqueue even for updates/no-ops: a crash after the alert write must not lose its actions (job ids dedupe).
    jobs.push(...actionJobsFor(h.rule, docs[i] as (typeof docs)[number], sourceId));
  });
  await deps.enqueue(jobs);
  return { hits, written, actionsEnqueued: jobs.length };
}
