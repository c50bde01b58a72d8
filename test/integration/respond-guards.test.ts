import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { names } from '../../src/config/load.js';
import { SlackAuditError } from '../../src/errors.js';
import { createLogger } from '../../src/observe/logger.js';
import { createRedis, deleteKeysMatching } from '../../src/queue/connection.js';
import { GuardStore } from '../../src/respond/guards.js';
import { processAction, type ResponderDeps } from '../../src/respond/process-action.js';
import { MemoryActionRecorder } from '../../src/respond/records.js';
import { actionKey, type ActionJobV1, type AuditLogLookup } from '../../src/respond/types.js';
import { retryDelayMs } from '../../src/respond/worker.js';
import { testConfig } from '../helpers/env.js';

const log = createLogger({ level: 'silent' });
const OWN_APP = 'A0OWNAPP01';

class FakeResetter {
  calls: string[] = [];
  failures = new Map<string, SlackAuditError[]>();
  resetSession(a: { userId: string }): Promise<void> {
    this.calls.push(a.userId);
    const queue = this.failures.get(a.userId);
    const err = queue?.shift();
    return err ? Promise.reject(err) : Promise.resolve();
  }
}

class FakeAudit implements AuditLogLookup {
  entries: unknown[] = [];
  down = false;
  queries: unknown[] = [];
  fetchPage(q: unknown): Promise<{ entries: readonly unknown[] }> {
    this.queries.push(q);
    return this.down ? Promise.reject(new SlackAuditError('SLACK_AUDIT_SLACK_SERVER', 'audit api down', { retryable: true })) : Promise.resolve({ entries: this.entries });
  }
}

let alertSeq = 0;
const DAY_MS = 86_400_000;
/** A job for a fresh alert (its last event `lastSeenAgoMs` ago; fresh = just now), unless told otherwise. */
function job(userId: string, type: 'session_reset' | 'webhook' | 'slack_notify' = 'session_reset', extra: Record<string, unknown> = {}, lastSeenAgoMs = 0): ActionJobV1 {
  const alertId = `alert-${++alertSeq}`;
  const lastSeen = Date.now() - lastSeenAgoMs;
  const action = (type === 'session_reset' ? { type, mobile_only: false, web_only: false } : { type, ...extra }) as ActionJobV1['action'];
  return {
    v: 1,
    key: actionKey(alertId, 0, type),
    alertId,
    actionIndex: 0,
    action,
    rule: { id: 'r', name: 'Rule', severity: 'critical', reference: 'runbook' },
    target: { id: userId, email: `${userId}@example.com` },
    alert: { firstSeen: new Date(lastSeen - 300_000).toISOString(), lastSeen: new Date(lastSeen).toISOString(), count: 61, groupKey: userId, eventIds: ['e1'] },
  };
}

describe('response guard rails (real Redis)', () => {
  const redis: Redis[] = [];
  const configs: Config[] = [];
  let server: Server;
  let serverUrl = '';
  const webhookHits: { body: string; key: string | undefined }[] = [];
  let webhookStatus = 200;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        webhookHits.push({ body, key: req.headers['idempotency-key'] as string | undefined });
        res.writeHead(webhookStatus, webhookStatus === 429 ? { 'retry-after': '9' } : {});
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });

  afterAll(async () => {
    for (const [i, r] of redis.entries()) {
      const prefix = names(configs[i] as Config).redisPrefix;
      await deleteKeysMatching(r, `${prefix}:*`);
      r.disconnect();
    }
    await new Promise<void>((r) => server.close(() => { r(); }));
  });

  function setup(responses: Record<string, unknown> = {}) {
    const config = testConfig({ responses: { mode: 'enforce', ...responses }, slackAdmin: { ownAppIds: [OWN_APP], ownActorIds: ['W0SECADM01'] } }, 'guards');
    const r = createRedis(config, 'command');
    redis.push(r);
    configs.push(config);
    const guards = new GuardStore(r, names(config).redisPrefix);
    const resetter = new FakeResetter();
    const audit = new FakeAudit();
    const recorder = new MemoryActionRecorder();
    const deps: ResponderDeps = { config, guards, recorder, resetter, audit, log };
    const attempt = { attemptsMade: 0, maxAttempts: 8 };
    return { config, guards, resetter, audit, recorder, deps, attempt };
  }

  it('dry-run is the default: records dry_run and never calls Slack', async () => {
    const s = setup({ mode: 'dry-run' });
    const res = await processAction(job('W0VICTIM01'), s.deps, s.attempt);
    expect(res.outcome).toBe('dry_run');
    expect(s.resetter.calls).toEqual([]);
    expect([...s.recorder.docs.values()][0]?.slack.response).toMatchObject({ outcome: 'dry_run', mode: 'dry-run', action: 'session_reset' });
    expect(testConfig({}, 'x').responses.mode).toBe('dry-run');
  });

  it('enforce: exactly one reset per alert, however often the job runs', async () => {
    const s = setup();
    const j = job('W0VICTIM01');
    expect((await processAction(j, s.deps, s.attempt)).outcome).toBe('executed');
    const again = await processAction(j, s.deps, { attemptsMade: 1, maxAttempts: 8 });
    expect(again).toMatchObject({ outcome: 'executed', replayed: true });
    expect(s.resetter.calls).toEqual(['W0VICTIM01']);
  });

  it('protected users (config) and our own admin are never acted on', async () => {
    const s = setup({ protectedUsers: ['W0PROTADM1'] });
    expect((await processAction(job('W0PROTADM1'), s.deps, s.attempt)).outcome).toBe('skipped_protected');
    expect((await processAction(job('W0SECADM01'), s.deps, s.attempt)).outcome).toBe('skipped_protected');
    expect(s.resetter.calls).toEqual([]);
  });

  it('primary owner / bot: one failed attempt with the Slack error, no retry', async () => {
    const s = setup();
    s.resetter.failures.set('W0PRIMOWN1', [
      new SlackAuditError('SLACK_AUDIT_SLACK_TERMINAL', 'cannot_reset_primary_owner', { details: { slackError: 'cannot_reset_primary_owner' } }),
    ]);
    const j = job('W0PRIMOWN1');
    const res = await processAction(j, s.deps, s.attempt);
    expect(res.outcome).toBe('failed');
    expect(res.detail).toMatchObject({ slackError: 'cannot_reset_primary_owner', code: 'SLACK_AUDIT_SLACK_TERMINAL' });
    expect((await processAction(j, s.deps, { attemptsMade: 1, maxAttempts: 8 })).replayed).toBe(true);
    expect(s.resetter.calls).toEqual(['W0PRIMOWN1']);
  });

  it('per-user cooldown across alerts', async () => {
    const s = setup({ cooldownMinutes: 60 });
    expect((await processAction(job('W0USER0001'), s.deps, s.attempt)).outcome).toBe('executed');
    expect((await processAction(job('W0USER0001'), s.deps, s.attempt)).outcome).toBe('skipped_cooldown');
    expect(s.resetter.calls).toHaveLength(1);
  });

  it('global hourly cap is a circuit breaker, atomic under concurrency', async () => {
    const s = setup({ maxPerHour: 3 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => processAction(job(`W0CAP${String(i).padStart(5, '0')}`), s.deps, s.attempt)));
    const outcomes = results.map((r) => r.outcome).sort();
    expect(outcomes.filter((o) => o === 'executed')).toHaveLength(3);
    expect(outcomes.filter((o) => o === 'skipped_cap')).toHaveLength(7);
    expect(s.resetter.calls).toHaveLength(3);
  });

  it("skips a user Slack's own anomaly response just reset", async () => {
    const s = setup();
    await s.guards.markSlackReset('W0USER0002', Date.now(), 60_000);
    expect((await processAction(job('W0USER0002'), s.deps, s.attempt)).outcome).toBe('skipped_already_reset');
    expect(s.resetter.calls).toEqual([]);
  });

  it('rate limited: retried after Retry-After, and the retry calls again (Slack did nothing)', async () => {
    const s = setup();
    s.resetter.failures.set('W0USER0003', [new SlackAuditError('SLACK_AUDIT_SLACK_RATE_LIMITED', 'ratelimited', { retryable: true, retryAfterSeconds: 7 })]);
    const j = job('W0USER0003');
    const err = await processAction(j, s.deps, s.attempt).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlackAuditError);
    expect(retryDelayMs(1, err as Error)).toBe(7000);
    expect((await processAction(j, s.deps, { attemptsMade: 1, maxAttempts: 8 })).outcome).toBe('executed');
    expect(s.resetter.calls).toEqual(['W0USER0003', 'W0USER0003']);
    expect(s.audit.queries).toEqual([]);
  });

  describe('crash between intent and outcome', () => {
    async function crashed(s: ReturnType<typeof setup>, user: string, intentAgoMs: number, lastSeenAgoMs = 0) {
      const j = job(user, 'session_reset', {}, lastSeenAgoMs);
      // What a worker leaves behind when it dies right after calling Slack: an intent, no outcome.
      expect(await s.guards.acquire(j.key, user, Date.now() - intentAgoMs, 0, 100)).toBe('ok');
      return j;
    }

    it('our reset found in the audit log -> executed, no second call', async () => {
      const s = setup();
      const j = await crashed(s, 'W0USER0004', 5000);
      s.audit.entries = [
        { id: 'other', action: 'user_session_reset_by_admin', date_create: Math.floor(Date.now() / 1000), entity: { user: { id: 'W0ELSE' } }, context: { app: { id: OWN_APP } } },
        { id: 'ours', action: 'user_session_reset_by_admin', date_create: Math.floor(Date.now() / 1000), entity: { user: { id: 'W0USER0004' } }, context: { app: { id: OWN_APP } } },
      ];
      const res = await processAction(j, s.deps, { attemptsMade: 1, maxAttempts: 8 });
      expect(res).toMatchObject({ outcome: 'executed', detail: { reconciled: true, auditEventId: 'ours' } });
      expect(s.resetter.calls).toEqual([]);
      expect(s.audit.queries[0]).toMatchObject({ action: 'user_session_reset_by_admin', entity: 'W0USER0004' });
    });

    it('audit API down -> retried later, then uncertain (alert flagged) on the last attempt; never a second call', async () => {
      const s = setup();
      const j = await crashed(s, 'W0USER0005', 5000);
      s.audit.down = true;
      const err = await processAction(j, s.deps, { attemptsMade: 1, maxAttempts: 8 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SlackAuditError);
      expect((err as SlackAuditError).retryable).toBe(true);
      expect((await processAction(j, s.deps, { attemptsMade: 7, maxAttempts: 8 })).outcome).toBe('uncertain');
      expect(s.resetter.calls).toEqual([]);
    });

    it('not in the audit log yet -> wait (retry later); still absent after the grace -> uncertain, no second call', async () => {
      const s = setup({ reconcileGraceSeconds: 60 });
      const fresh = await crashed(s, 'W0USER0006', 1000);
      const err = await processAction(fresh, s.deps, { attemptsMade: 1, maxAttempts: 8 }).catch((e: unknown) => e);
      expect((err as SlackAuditError).code).toBe('SLACK_AUDIT_RESPONSE_UNCERTAIN');
      expect((err as SlackAuditError).retryAfterSeconds).toBeGreaterThan(50);
      expect(s.resetter.calls).toEqual([]);
      const old = await crashed(s, 'W0USER0007', 120_000);
      expect((await processAction(old, s.deps, { attemptsMade: 1, maxAttempts: 8 })).outcome).toBe('uncertain');
      expect(s.resetter.calls).toEqual([]);
    });

    it('an intent recorded for an alert that is now stale is still reconciled, never skipped_stale', async () => {
      const s = setup({ maxAlertAgeMinutes: 60 });
      // The alert was fresh when the first attempt recorded its intent; by the retry it is 2 days old.
      const j = await crashed(s, 'W0USER0010', 5000, 2 * DAY_MS);
      s.audit.entries = [
        { id: 'ours', action: 'user_session_reset_by_admin', date_create: Math.floor(Date.now() / 1000), entity: { user: { id: 'W0USER0010' } }, context: { app: { id: OWN_APP } } },
      ];
      expect(await processAction(j, s.deps, { attemptsMade: 1, maxAttempts: 8 })).toMatchObject({ outcome: 'executed', detail: { reconciled: true, auditEventId: 'ours' } });
      expect(s.audit.queries).toHaveLength(1);
      // Same age, no intent: the guard does apply.
      expect((await processAction(job('W0USER0011', 'session_reset', {}, 2 * DAY_MS), s.deps, s.attempt)).outcome).toBe('skipped_stale');
      expect(s.resetter.calls).toEqual([]);
    });
  });

  describe('stale alerts (responses.maxAlertAgeMinutes)', () => {
    it('an alert whose last event is 2 days old is recorded skipped_stale; Slack is never called', async () => {
      const s = setup();
      expect(s.config.responses.maxAlertAgeMinutes).toBe(60);
      const j = job('W0STALE001', 'session_reset', {}, 2 * DAY_MS);
      const res = await processAction(j, s.deps, s.attempt);
      expect(res).toMatchObject({ outcome: 'skipped_stale', replayed: false, detail: { lastSeen: j.alert.lastSeen, maxAlertAgeMinutes: 60 } });
      expect(s.resetter.calls).toEqual([]);
      expect(s.audit.queries).toEqual([]);
      const doc = s.recorder.docs.get(j.key);
      expect(doc?.event).toMatchObject({ outcome: 'unknown' });
      expect(doc?.slack.response).toMatchObject({ outcome: 'skipped_stale', mode: 'enforce', details: { lastSeen: j.alert.lastSeen, maxAlertAgeMinutes: 60 } });
      // Recorded once for good: a replay re-records the outcome and still does not call Slack.
      expect(await processAction(j, s.deps, { attemptsMade: 1, maxAttempts: 8 })).toMatchObject({ outcome: 'skipped_stale', replayed: true });
      expect(s.resetter.calls).toEqual([]);
    });

    it('dry-run reports skipped_stale too (what enforce would do), and a stale webhook is not sent', async () => {
      const s = setup({ mode: 'dry-run' });
      expect((await processAction(job('W0STALE002', 'session_reset', {}, 2 * DAY_MS), s.deps, s.attempt)).outcome).toBe('skipped_stale');
      const hits = webhookHits.length;
      expect((await processAction(job('W0STALE002', 'webhook', { url: serverUrl }, 2 * DAY_MS), s.deps, s.attempt)).outcome).toBe('skipped_stale');
      expect(webhookHits).toHaveLength(hits);
      expect(s.resetter.calls).toEqual([]);
    });

    it('a fresh alert still executes: the limit is the age of the last event', async () => {
      const s = setup({ maxAlertAgeMinutes: 10 });
      expect((await processAction(job('W0FRESH001', 'session_reset', {}, 9 * 60_000), s.deps, s.attempt)).outcome).toBe('executed');
      expect((await processAction(job('W0FRESH002', 'session_reset', {}, 11 * 60_000), s.deps, s.attempt)).outcome).toBe('skipped_stale');
      // An unparsable lastSeen is not silently treated as stale.
      const bad = job('W0FRESH003');
      bad.alert.lastSeen = 'not a date';
      expect((await processAction(bad, s.deps, s.attempt)).outcome).toBe('executed');
      expect(s.resetter.calls).toEqual(['W0FRESH001', 'W0FRESH003']);
    });

    it('maxAlertAgeMinutes 0 disables the guard', async () => {
      const s = setup({ maxAlertAgeMinutes: 0 });
      expect((await processAction(job('W0OLD00001', 'session_reset', {}, 60 * DAY_MS), s.deps, s.attempt)).outcome).toBe('executed');
      expect(s.resetter.calls).toEqual(['W0OLD00001']);
    });
  });

  it('webhook and slack_notify: POST JSON with an idempotency key; 429 honours Retry-After', async () => {
    const s = setup();
    process.env.SA_TEST_HOOK_URL = serverUrl;
    const hook = job('W0USER0008', 'webhook', { url: serverUrl });
    expect((await processAction(hook, s.deps, s.attempt)).outcome).toBe('executed');
    const notify = job('W0USER0008', 'slack_notify', { url_env: 'SA_TEST_HOOK_URL' });
    expect((await processAction(notify, s.deps, s.attempt)).outcome).toBe('executed');
    expect(webhookHits).toHaveLength(2);
    expect(JSON.parse(webhookHits[0]?.body ?? '{}')).toMatchObject({ alert_id: hook.alertId, target: { id: 'W0USER0008' } });
    expect(webhookHits[0]?.key).toBe(hook.key);
    expect(JSON.parse(webhookHits[1]?.body ?? '{}')).toMatchObject({ text: expect.stringContaining('[CRITICAL] Rule') as unknown });
    webhookStatus = 429;
    const limited = job('W0USER0008', 'webhook', { url: serverUrl });
    const err = await processAction(limited, s.deps, s.attempt).catch((e: unknown) => e);
    expect(retryDelayMs(1, err as Error)).toBe(9000);
    expect((await processAction(limited, s.deps, { attemptsMade: 7, maxAttempts: 8 })).outcome).toBe('failed');
    webhookStatus = 200;
    // webhooks fire in dry-run too: they notify, they do not act on users
    const dry = setup({ mode: 'dry-run' });
    expect((await processAction(job('W0USER0009', 'webhook', { url: serverUrl }), dry.deps, dry.attempt)).outcome).toBe('executed');
  });
});
