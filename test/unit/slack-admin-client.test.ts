import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MockAgent } from 'undici';
import { SlackAdminClient } from '../../src/slack/admin-client.js';
import { SlackAuditError } from '../../src/errors.js';
import { parseRetryAfter } from '../../src/slack/classify.js';

const ORIGIN = 'https://slack.test';
const TOKEN = 'xoxp-admin-unit-token-98765';
const JSON_HEADERS = { 'content-type': 'application/json' };

let agent: MockAgent;
let client: SlackAdminClient;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  client = new SlackAdminClient({ baseUrl: `${ORIGIN}/api`, token: TOKEN, timeoutMs: 300, dispatcher: agent });
});

afterEach(async () => {
  await client.close();
  await agent.close();
});

function reset(): ReturnType<ReturnType<MockAgent['get']>['intercept']> {
  return agent.get(ORIGIN).intercept({ path: '/api/admin.users.session.reset', method: 'POST' });
}

async function failure(p: Promise<unknown>): Promise<SlackAuditError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SlackAuditError);
    const e = err as SlackAuditError;
    expect(JSON.stringify(e.toJSON())).not.toContain(TOKEN);
    return e;
  }
  throw new Error('expected the call to fail');
}

describe('SlackAdminClient.resetSession', () => {
  it('POSTs a JSON body with bearer auth and resolves on ok:true', async () => {
    let body: unknown;
    let headers: Record<string, string> = {};
    agent
      .get(ORIGIN)
      .intercept({
        path: '/api/admin.users.session.reset',
        method: 'POST',
        body: (b: string) => {
          body = JSON.parse(b);
          return true;
        },
        headers: (h: Record<string, string>) => {
          headers = h;
          return true;
        },
      })
      .reply(200, { ok: true }, { headers: JSON_HEADERS });
    await client.resetSession({ userId: 'W0VICTIM01', mobileOnly: false, webOnly: true });
    expect(body).toEqual({ user_id: 'W0VICTIM01', mobile_only: false, web_only: true });
    expect(headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(headers['content-type']).toMatch(/^application\/json/);
  });

  it.each(['cannot_reset_primary_owner', 'cannot_reset_bot', 'user_not_found', 'not_an_admin', 'missing_scope', 'invalid_auth', 'feature_not_enabled', 'some_future_error'])(
    'maps ok:false %s to a terminal, non-retryable error carrying slackError',
    async (error) => {
      reset().reply(200, { ok: false, error, ...(error === 'missing_scope' ? { needed: 'admin.users:write', provided: 'admin.users:read' } : {}) }, { headers: JSON_HEADERS });
      const e = await failure(client.resetSession({ userId: 'W1' }));
      expect(e.code).toBe('SLACK_AUDIT_SLACK_TERMINAL');
      expect(e.retryable).toBe(false);
      expect(e.details).toMatchObject({ slackError: error, httpStatus: 200, endpoint: '/admin.users.session.reset' });
      if (error === 'missing_scope') expect(e.details.needed).toBe('admin.users:write');
    },
  );

  it.each(['user_session_reset_failed', 'internal_error', 'service_unavailable', 'request_timeout', 'fatal_error'])('maps ok:false %s to a retryable error', async (error) => {
    reset().reply(200, { ok: false, error }, { headers: JSON_HEADERS });
    const e = await failure(client.resetSession({ userId: 'W1' }));
    expect(e.code).toBe('SLACK_AUDIT_SLACK_RETRYABLE');
    expect(e.retryable).toBe(true);
    expect(e.details.slackError).toBe(error);
  });

  it('maps 429 and ok:false ratelimited to RATE_LIMITED with Retry-After', async () => {
    reset().reply(429, { ok: false, error: 'ratelimited' }, { headers: { ...JSON_HEADERS, 'retry-after': '12' } });
    const a = await failure(client.resetSession({ userId: 'W1' }));
    expect(a.code).toBe('SLACK_AUDIT_SLACK_RATE_LIMITED');
    expect(a.retryable).toBe(true);
    expect(a.retryAfterSeconds).toBe(12);
    reset().reply(200, { ok: false, error: 'ratelimited' }, { headers: JSON_HEADERS });
    const b = await failure(client.resetSession({ userId: 'W1' }));
    expect(b.code).toBe('SLACK_AUDIT_SLACK_RATE_LIMITED');
    expect(b.retryAfterSeconds).toBe(30);
  });

  it('maps 5xx (JSON or HTML) to retryable, and a hang to a retryable TIMEOUT', async () => {
    reset().reply(503, '<html>Service Unavailable</html>', { headers: { 'content-type': 'text/html' } });
    const a = await failure(client.resetSession({ userId: 'W1' }));
    expect(a.code).toBe('SLACK_AUDIT_SLACK_RETRYABLE');
    expect(a.retryable).toBe(true);
    reset().reply(200, { ok: true }, { headers: JSON_HEADERS }).delay(5_000);
    const b = await failure(client.resetSession({ userId: 'W1' }));
    expect(b.code).toBe('SLACK_AUDIT_SLACK_TIMEOUT');
    expect(b.retryable).toBe(true);
  });

  it('treats an HTML 200 or a body without ok as a retryable BAD_BODY, never as success', async () => {
    reset().reply(200, '<html>login</html>', { headers: { 'content-type': 'text/html' } });
    expect((await failure(client.resetSession({ userId: 'W1' }))).code).toBe('SLACK_AUDIT_SLACK_BAD_BODY');
    reset().reply(200, { something: 1 }, { headers: JSON_HEADERS });
    expect((await failure(client.resetSession({ userId: 'W1' }))).code).toBe('SLACK_AUDIT_SLACK_BAD_BODY');
  });
});

describe('SlackAdminClient bulk and list', () => {
  it('sends user_ids to resetBulk and refuses an oversized list without a request', async () => {
    let body: unknown;
    agent
      .get(ORIGIN)
      .intercept({
        path: '/api/admin.users.session.resetBulk',
        method: 'POST',
        body: (b: string) => {
          body = JSON.parse(b);
          return true;
        },
      })
      .reply(200, { ok: true }, { headers: JSON_HEADERS });
    await client.resetSessionBulk({ userIds: ['W1', 'W2'], mobileOnly: true });
    expect(body).toEqual({ user_ids: ['W1', 'W2'], mobile_only: true });
    const e = await failure(client.resetSessionBulk({ userIds: Array.from({ length: 1001 }, (_, i) => `W${i}`) }));
    expect(e.code).toBe('SLACK_AUDIT_SLACK_TERMINAL');
  });

  it('lists sessions with the next cursor', async () => {
    agent
      .get(ORIGIN)
      .intercept({ path: '/api/admin.users.session.list', method: 'POST' })
      .reply(200, { ok: true, active_sessions: [{ user_id: 'W1', session_id: 42 }], response_metadata: { next_cursor: 'c2' } }, { headers: JSON_HEADERS });
    expect(await client.listSessions({ userId: 'W1', teamId: 'T1' })).toEqual({ sessions: [{ user_id: 'W1', session_id: 42 }], nextCursor: 'c2' });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and defaults missing or garbled values', () => {
    expect(parseRetryAfter('5')).toBe(5);
    expect(parseRetryAfter(['9'])).toBe(9);
    expect(parseRetryAfter(undefined)).toBe(30);
    expect(parseRetryAfter('-3')).toBe(30);
    expect(parseRetryAfter('')).toBe(30);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:20 GMT', now)).toBe(20);
  });
});
