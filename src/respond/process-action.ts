import { request, type Dispatcher } from 'undici';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import { SlackAuditError, errorMessage, isSlackAuditError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import { metrics } from '../observe/metrics.js';
import { registerSecret, scrubString } from '../observe/secrets.js';
import type { GuardStore } from './guards.js';
import { buildActionRecord, type ActionRecorder } from './records.js';
import type { ActionJobV1, ActionOutcome, ActionResult, AuditLogLookup, SessionResetter } from './types.js';

/**
 * One response action, with every guard rail, in this order:
 *  1. an outcome already recorded for this idempotency key -> done (re-record it, never act again);
 *  2. an alert whose last event is older than responses.maxAlertAgeMinutes (a backfill, a catch-up after an
 *     outage) -> skipped_stale, for every action type and in dry-run too; never for a recorded intent (5.);
 *  3. protected users (config + our own admin actors) -> skipped_protected;
 *  4. dry-run mode -> dry_run (Slack is never called);
 *  5. an intent without an outcome (a worker died mid-call, or the call timed out) -> reconcile with the
 *     audit log: our user_session_reset_by_admin found -> executed; not found within the audit-log lag
 *     (reconcileGraceSeconds), or the audit API still unavailable on the last attempt -> uncertain, and the
 *     alert is flagged for a human. We never call Slack a second time unless Slack itself said the first
 *     call did nothing (ratelimited, user_session_reset_failed): a second reset is worse than an alert;
 *  6. Slack's own anomaly response just reset the user -> skipped_already_reset;
 *  7. per-user cooldown / global hourly cap, checked and the intent recorded atomically -> skipped_*;
 *  8. call Slack: ok -> executed; terminal error (cannot_reset_primary_owner, cannot_reset_bot...) -> failed,
 *     once, no retry; retryable -> throw (BullMQ retries after Retry-After).
 */
export interface ResponderDeps {
  config: Config;
  guards: GuardStore;
  recorder: ActionRecorder;
  resetter?: SessionResetter | undefined;
  audit?: AuditLogLookup | undefined;
  dispatcher?: Dispatcher | undefined;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  log: Logger;
}

export interface AttemptInfo {
  /** Attempts already made before this one (BullMQ attemptsMade). */
  attemptsMade: number;
  maxAttempts: number;
}

const RESET_ACTION = 'user_session_reset_by_admin';
/** Audit entries are second-granular and clocks drift: look this far before the intent. */
const RECONCILE_MARGIN_MS = 60_000;

const auditHit = z
  .object({
    action: z.string(),
    date_create: z.number(),
    actor: z.object({ user: z.object({ id: z.string().optional() }).loose().nullish() }).loose().nullish(),
    entity: z.object({ user: z.object({ id: z.string().optional() }).loose().nullish() }).loose().nullish(),
    context: z.object({ app: z.object({ id: z.string().optional() }).loose().nullish() }).loose().nullish(),
  })
  .loose();

export async function processAction(job: ActionJobV1, deps: ResponderDeps, attempt: AttemptInfo): Promise<ActionResult> {
  const now = deps.now ?? Date.now;
  const { guards } = deps;
  const mode = deps.config.responses.mode;
  const lastAttempt = attempt.attemptsMade + 1 >= attempt.maxAttempts;

  const finish = async (outcome: ActionOutcome, detail: Record<string, unknown> = {}, replayed = false): Promise<ActionResult> => {
    const at = now();
    if (!replayed) await guards.finish(job.key, outcome, at, detail);
    await deps.recorder.record(job, buildActionRecord(job, outcome, at, detail, mode));
    if (!replayed) metrics.responseActions.inc({ action: job.action.type, outcome });
    deps.log.info({ key: job.key, alertId: job.alertId, action: job.action.type, outcome, target: job.target?.id, ...detail }, 'response action outcome');
    return { key: job.key, outcome, replayed, detail };
  };

  const rec = await guards.read(job.key);
  if (rec.state === 'done' && rec.outcome) {
    // Recorded in Redis but maybe not in ES (a crash between the two): record again, idempotently.
    return finish(rec.outcome as ActionOutcome, rec.detail ?? {}, true);
  }

  // Old history (a backfill, a catch-up after an outage) is recorded, not acted on now. Not when an intent was
  // recorded: that call may have reached Slack, and only reconciliation can tell. Only a parsable, too-old
  // lastSeen is stale.
  const maxAlertAgeMinutes = deps.config.responses.maxAlertAgeMinutes;
  const lastSeenMs = Date.parse(job.alert.lastSeen);
  if (rec.state !== 'intent' && maxAlertAgeMinutes > 0 && Number.isFinite(lastSeenMs) && now() - lastSeenMs > maxAlertAgeMinutes * 60_000) {
    return finish('skipped_stale', { lastSeen: job.alert.lastSeen, maxAlertAgeMinutes });
  }

  if (job.action.type !== 'session_reset') return webhookAction(job, deps, lastAttempt, finish);

  const userId = job.target?.id;
  if (!userId) return finish('failed', { error: 'no_target_user' });
  const protectedUsers = new Set([...deps.config.responses.protectedUsers, ...deps.config.slackAdmin.ownActorIds]);
  if (protectedUsers.has(userId)) return finish('skipped_protected');
  if (mode !== 'enforce') return finish('dry_run');
  const resetter = deps.resetter;
  if (!resetter) return finish('failed', { error: 'no_admin_client', message: 'slackAdmin token is not configured' });

  let verdict: string = rec.state === 'intent' ? 'intent' : 'fresh';
  let intentAt = rec.intentAt ?? now();

  if (verdict === 'fresh') {
    const slackResetAt = await guards.slackResetAt(userId);
    if (slackResetAt !== undefined) return finish('skipped_already_reset', { slackResetAt: new Date(slackResetAt).toISOString() });
    verdict = await guards.acquire(job.key, userId, now(), deps.config.responses.cooldownMinutes * 60_000, deps.config.responses.maxPerHour);
    if (verdict === 'cooldown') return finish('skipped_cooldown');
    if (verdict === 'cap') return finish('skipped_cap', { maxPerHour: deps.config.responses.maxPerHour });
    if (verdict === 'done') {
      const again = await guards.read(job.key);
      return finish((again.outcome ?? 'uncertain') as ActionOutcome, again.detail ?? {}, true);
    }
    if (verdict === 'intent') intentAt = (await guards.read(job.key)).intentAt ?? intentAt;
  }

  if (verdict === 'intent') {
    // A previous attempt recorded the intent and never the outcome: it may or may not have reached Slack.
    const found = await findOurReset(deps, userId, intentAt);
    if (found === 'unavailable' || found instanceof SlackAuditError) {
      if (lastAttempt || found === 'unavailable') return finish('uncertain', { reason: 'audit_log_unavailable', intentAt: new Date(intentAt).toISOString() });
      // The audit API is rate limited or down right now: check again later, within the org's budget.
      throw new SlackAuditError('SLACK_AUDIT_RESPONSE_UNCERTAIN', `cannot read the audit log to reconcile the reset of ${userId} yet`, {
        retryable: true,
        retryAfterSeconds: found.retryAfterSeconds ?? 30,
        cause: found,
      });
    }
    if (found) return finish('executed', { reconciled: true, auditEventId: found.eventId });
    const waitMs = intentAt + deps.config.responses.reconcileGraceSeconds * 1000 - now();
    if (waitMs > 0) {
      if (lastAttempt) return finish('uncertain', { reason: 'reset_not_in_audit_log_yet', intentAt: new Date(intentAt).toISOString() });
      throw new SlackAuditError('SLACK_AUDIT_RESPONSE_UNCERTAIN', `no ${RESET_ACTION} for ${userId} in the audit log yet; checking again later`, {
        retryable: true,
        retryAfterSeconds: Math.ceil(waitMs / 1000),
      });
    }
    // The audit log has had time to show our reset and does not. The earlier call probably never reached
    // Slack, but we cannot be sure: flag it for a human rather than risk a second reset.
    return finish('uncertain', { reason: 'reset_not_in_audit_log', intentAt: new Date(intentAt).toISOString() });
  }

  try {
    await resetter.resetSession({ userId, mobileOnly: job.action.mobile_only, webOnly: job.action.web_only });
  } catch (err) {
    const e = isSlackAuditError(err) ? err : undefined;
    const detail = { code: e?.code ?? 'UNKNOWN', slackError: e?.details.slackError, message: scrubString(errorMessage(err)) };
    if (!e?.retryable) return finish('failed', detail);
    // Slack said it did nothing (rate limited, or reset explicitly failed): the next attempt may call straight
    // away. Any other retryable failure (5xx, timeout) may have reached Slack: keep the intent, reconcile.
    const slackSaidNotDone = e.code === 'SLACK_AUDIT_SLACK_RATE_LIMITED' || e.details.slackError === 'user_session_reset_failed';
    if (slackSaidNotDone) await guards.releaseIntent(job.key);
    if (lastAttempt) return slackSaidNotDone ? finish('failed', detail) : finish('uncertain', { ...detail, reason: 'retries_exhausted' });
    throw err;
  }
  return finish('executed');
}

/** Our reset of `userId` in the audit log since the intent: its event id, false (none yet), or 'unavailable'. */
async function findOurReset(deps: ResponderDeps, userId: string, intentAt: number): Promise<{ eventId: string } | false | 'unavailable' | SlackAuditError> {
  if (!deps.audit) return 'unavailable';
  const own = { apps: new Set(deps.config.slackAdmin.ownAppIds), actors: new Set(deps.config.slackAdmin.ownActorIds) };
  const since = intentAt - RECONCILE_MARGIN_MS;
  let page;
  try {
    page = await deps.audit.fetchPage({ oldest: Math.floor(since / 1000), action: RESET_ACTION, entity: userId, limit: 100 });
  } catch (err) {
    deps.log.warn({ err, userId }, 'audit log lookup failed while reconciling a session reset');
    return isSlackAuditError(err) && err.retryable ? err : 'unavailable';
  }
  for (const raw of page.entries) {
    const p = auditHit.safeParse(raw);
    if (!p.success) continue;
    const e = p.data;
    if (e.action !== RESET_ACTION || e.entity?.user?.id !== userId || e.date_create * 1000 < since) continue;
    const mine = own.apps.size + own.actors.size === 0 || own.apps.has(e.context?.app?.id ?? '') || own.actors.has(e.actor?.user?.id ?? '');
    if (mine) {
      const id = (raw as { id?: unknown }).id;
      return { eventId: typeof id === 'string' ? id : 'unknown' };
    }
  }
  return false;
}

const webhookUrl = (job: ActionJobV1, env: NodeJS.ProcessEnv): string | undefined => {
  if (job.action.type === 'session_reset') return undefined;
  const url = job.action.url ?? (job.action.url_env ? env[job.action.url_env] : undefined);
  if (url) registerSecret(url);
  return url;
};

export function notificationText(job: ActionJobV1): string {
  const who = job.target ? ` user ${job.target.email ?? job.target.name ?? job.target.id} (${job.target.id})` : '';
  return `:rotating_light: [${job.rule.severity.toUpperCase()}] ${job.rule.name}:${who}; ${job.alert.count} event(s) ${job.alert.firstSeen} to ${job.alert.lastSeen}. Alert ${job.alertId}. Runbook: ${job.rule.reference}`;
}

/** webhook / slack_notify: POST JSON, at least once (the Idempotency-Key header lets the receiver dedupe). */
async function webhookAction(
  job: ActionJobV1,
  deps: ResponderDeps,
  lastAttempt: boolean,
  finish: (o: ActionOutcome, d?: Record<string, unknown>) => Promise<ActionResult>,
): Promise<ActionResult> {
  const url = webhookUrl(job, deps.env ?? process.env);
  if (!url) return finish('failed', { error: 'no_url' });
  const body =
    job.action.type === 'slack_notify'
      ? { text: notificationText(job) }
      : { alert_id: job.alertId, rule: job.rule, target: job.target ?? null, alert: job.alert, source_id: job.sourceId ?? null, action_key: job.key };
  const timeout = deps.config.responses.webhookTimeoutMs;
  let status: number;
  let retryAfter: string | undefined;
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': job.key },
      body: JSON.stringify(body),
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: AbortSignal.timeout(timeout),
      ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
    });
    status = res.statusCode;
    const ra = res.headers['retry-after'];
    retryAfter = Array.isArray(ra) ? ra[0] : ra;
    await res.body.dump();
  } catch (err) {
    if (lastAttempt) return finish('failed', { error: 'network', message: scrubString(errorMessage(err)) });
    throw new SlackAuditError('SLACK_AUDIT_SLACK_NETWORK', `webhook request failed: ${scrubString(errorMessage(err))}`, { retryable: true, cause: err });
  }
  if (status >= 200 && status < 300) return finish('executed', { status });
  if (status === 429 || status >= 500) {
    if (lastAttempt) return finish('failed', { status });
    const seconds = retryAfter !== undefined && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
    throw new SlackAuditError(status === 429 ? 'SLACK_AUDIT_SLACK_RATE_LIMITED' : 'SLACK_AUDIT_SLACK_SERVER', `webhook answered HTTP ${status}`, {
      retryable: true,
      ...(seconds !== undefined ? { retryAfterSeconds: seconds } : {}),
    });
  }
  return finish('failed', { status });
}
