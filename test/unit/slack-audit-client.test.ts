import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MockAgent } from 'undici';
import { readFileSync } from 'node:fs';
import { AuditLogsClient } from '../../src/slack/audit-client.js';
import { SlackAuditError } from '../../src/errors.js';
import { metrics } from '../../src/observe/metrics.js';
import { auditEntrySchema } from '../../src/slack/entry.js';

const ORIGIN = 'https://audit.test';
const TOKEN = 'xoxp-unit-test-token-123456';
const JSON_HEADERS = { 'content-type': 'application/json' };

let agent: MockAgent;
let client: AuditLogsClient;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  client = new AuditLogsClient({ baseUrl: `${ORIGIN}/audit/v1`, token: TOKEN, sourceId: 'unit', timeoutMs: 300, dispatcher: agent });
});

afterEach(async () => {
  await client.close();
  await agent.close();
});

function logs(): ReturnType<ReturnType<MockAgent['get']>['intercept']> {
  return agent.get(ORIGIN).intercept({ path: (p: string) => p.startsWith('/audit/v1/logs'), method: 'GET' });
}

async function failure(p: Promise<unknown>): Promise<SlackAuditError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SlackAuditError);
    const e = err as SlackAuditError;
    // Never the token, anywhere in what leaves the client.
    expect(JSON.stringify(e.toJSON())).not.toContain(TOKEN);
    expect(e.message).not.toContain(TOKEN);
    return e;
  }
  throw new Error('expected the call to fail');
}

describe('AuditLogsClient.fetchPage', () => {
  it('sends bearer auth and every filter, and returns entries verbatim with the next cursor', async () => {
    const fixture = readFileSync(new URL('../../../shared/slack-audit-examples.json', import.meta.url), 'utf8');
    let seenPath = '';
    let seenAuth: unknown;
    agent
      .get(ORIGIN)
      .intercept({
        path: (p: string) => {
          seenPath = p;
          return p.startsWith('/audit/v1/logs');
        },
        method: 'GET',
        headers: (h: Record<string, string>) => {
          seenAuth = h.authorization;
          return true;
        },
      })
      .reply(200, fixture, { headers: JSON_HEADERS });
    const page = await client.fetchPage({ oldest: 1700000000, latest: 1700003600, limit: 200, action: 'user_login,anomaly', actor: 'W1', entity: 'F1', cursor: 'abc=' });
    const url = new URL(seenPath, ORIGIN);
    expect(url.pathname).toBe('/audit/v1/logs');
    expect(Object.fromEntries(url.searchParams)).toEqual({ oldest: '1700000000', latest: '1700003600', limit: '200', action: 'user_login,anomaly', actor: 'W1', entity: 'F1', cursor: 'abc=' });
    expect(seenAuth).toBe(`Bearer ${TOKEN}`);
    const parsed = JSON.parse(fixture) as { entries: unknown[] };
    expect(page.entries).toEqual(parsed.entries);
    // Each entry's text as sent, in order (what the ingest jobs carry and event.original keeps).
    expect(page.texts?.map((t) => JSON.parse(t) as unknown)).toEqual(parsed.entries);
    expect(page.texts?.every((t) => fixture.includes(t))).toBe(true);
    expect(page.nextCursor).toBeUndefined();
    expect(page.status).toBe(200);
  });

  it('passes polymorphic and even invalid entries through untouched, in order', async () => {
    const entries = [
      { id: 'a', date_create: 3, action: 'anomaly', context: { session_id: 913888259765, app: null, ip_address: '' }, details: { reason: 'tor', action_timestamp: 1700000000123456 } },
      { id: 'b', date_create: 2, action: 'future_action', entity: { type: 'hologram', hologram: { id: 'H1' } }, context: { session_id: null, ip_address: '2001:db8::1' }, details: { reason: ['asn', 'ip_address'], new_value: { a: ['x'] } }, extra_top: true },
      { id: 'c', date_create: 1, action: 'file_downloaded', context: { session_id: '847288190092' } },
      { date_create: 'not-a-number' },
      null,
    ];
    logs().reply(200, { entries, response_metadata: { next_cursor: 'bmV4dA==' } }, { headers: JSON_HEADERS });
    const page = await client.fetchPage({ limit: 5 });
    expect(page.entries).toEqual(entries);
    expect(page.texts).toEqual(entries.map((e) => JSON.stringify(e)));
    expect(page.nextCursor).toBe('bmV4dA==');
    // The tolerant boundary schema still accepts the odd-but-valid ones.
    expect(page.entries.slice(0, 3).map((e) => auditEntrySchema.safeParse(e).success)).toEqual([true, true, true]);
    expect(auditEntrySchema.safeParse(page.entries[3]).success).toBe(false);
  });

  it('treats an entries array as success without ok:true, and empty/null/missing next_cursor as the last page', async () => {
    logs().reply(200, { entries: [], response_metadata: { next_cursor: '' } }, { headers: JSON_HEADERS });
    logs().reply(200, { ok: true, entries: [], response_metadata: { next_cursor: null } }, { headers: JSON_HEADERS });
    logs().reply(200, { entries: [] }, { headers: JSON_HEADERS });
    for (let i = 0; i < 3; i++) expect((await client.fetchPage({})).nextCursor).toBeUndefined();
  });

  it.each([
    ['with Retry-After', { 'retry-after': '7' }, { ok: false, error: 'ratelimited' }, 7],
    ['without Retry-After (default)', {}, { ok: false, error: 'rate_limited' }, 30],
    ['with a garbled Retry-After', { 'retry-after': 'soon' }, 'Too Many Requests', 30],
  ])('maps 429 %s to a retryable RATE_LIMITED with retryAfterSeconds', async (_name, headers, body, seconds) => {
    const before = (await metrics.slackRateLimited.get()).values.find((v) => v.labels.source === 'unit')?.value ?? 0;
    logs().reply(429, typeof body === 'string' ? body : JSON.stringify(body), { headers: { ...JSON_HEADERS, ...headers } });
    const e = await failure(client.fetchPage({}));
    expect(e.code).toBe('SLACK_AUDIT_SLACK_RATE_LIMITED');
    expect(e.retryable).toBe(true);
    expect(e.retryAfterSeconds).toBe(seconds);
    expect(e.details).toMatchObject({ httpStatus: 429, endpoint: '/logs' });
    const after = (await metrics.slackRateLimited.get()).values.find((v) => v.labels.source === 'unit')?.value ?? 0;
    expect(after).toBe(before + 1);
  });

  it.each(['ratelimited', 'rate_limited'])('maps the %s spelling to RATE_LIMITED even on HTTP 200', async (spelling) => {
    logs().reply(200, { ok: false, error: spelling }, { headers: { ...JSON_HEADERS, 'retry-after': '3' } });
    const e = await failure(client.fetchPage({}));
    expect(e.code).toBe('SLACK_AUDIT_SLACK_RATE_LIMITED');
    expect(e.retryAfterSeconds).toBe(3);
    expect(e.details.slackError).toBe(spelling);
  });

  it.each([500, 502, 503, 504])('maps HTTP %i to a retryable SERVER error', async (status) => {
    logs().reply(status, { ok: false, error: 'internal_error_x' }, { headers: JSON_HEADERS });
    const e = await failure(client.fetchPage({}));
    expect(e.code).toBe('SLACK_AUDIT_SLACK_SERVER');
    expect(e.retryable).toBe(true);
    expect(e.details.httpStatus).toBe(status);
  });

  it('maps an HTML body (proxy page) to a retryable error, 200 or 502', async () => {
    const html = '<html><body><h1>502 Bad Gateway</h1></body></html>';
    logs().reply(200, html, { headers: { 'content-type': 'text/html' } });
    const a = await failure(client.fetchPage({}));
    expect(a.code).toBe('SLACK_AUDIT_SLACK_BAD_BODY');
    expect(a.retryable).toBe(true);
    logs().reply(502, html, { headers: { 'content-type': 'text/html' } });
    const b = await failure(client.fetchPage({}));
    expect(b.code).toBe('SLACK_AUDIT_SLACK_SERVER');
    expect(b.retryable).toBe(true);
  });

  it('maps malformed JSON and a JSON body without entries to a retryable BAD_BODY', async () => {
    logs().reply(200, '{"entries":[{"id":"x"', { headers: JSON_HEADERS });
    const a = await failure(client.fetchPage({}));
    expect(a.code).toBe('SLACK_AUDIT_SLACK_BAD_BODY');
    expect(a.retryable).toBe(true);
    logs().reply(200, { ok: true, items: [] }, { headers: JSON_HEADERS });
    const b = await failure(client.fetchPage({}));
    expect(b.code).toBe('SLACK_AUDIT_SLACK_BAD_BODY');
    logs().reply(200, { entries: 'nope' }, { headers: JSON_HEADERS });
    expect((await failure(client.fetchPage({}))).code).toBe('SLACK_AUDIT_SLACK_BAD_BODY');
  });

  it('times out a hanging response as a retryable TIMEOUT', async () => {
    logs().reply(200, { entries: [] }, { headers: JSON_HEADERS }).delay(5_000);
    const started = Date.now();
    const e = await failure(client.fetchPage({}));
    expect(e.code).toBe('SLACK_AUDIT_SLACK_TIMEOUT');
    expect(e.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('maps network errors to a retryable NETWORK error, and a caller abort to NETWORK with aborted', async () => {
    logs().replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const e = await failure(client.fetchPage({}));
    expect(e.code).toBe('SLACK_AUDIT_SLACK_NETWORK');
    expect(e.retryable).toBe(true);
    logs().reply(200, { entries: [] }, { headers: JSON_HEADERS }).delay(2_000);
    const ctrl = new AbortController();
    setTimeout(() => {
      ctrl.abort();
    }, 20);
    const aborted = await failure(client.fetchPage({}, ctrl.signal));
    expect(aborted.details.aborted).toBe(true);
  });

  it('maps invalid_cursor and invalid_range to their own non-retryable codes', async () => {
    logs().reply(400, { ok: false, error: 'invalid_cursor' }, { headers: JSON_HEADERS });
    const a = await failure(client.fetchPage({ cursor: 'stale' }));
    expect(a.code).toBe('SLACK_AUDIT_SLACK_INVALID_CURSOR');
    expect(a.retryable).toBe(false);
    logs().reply(200, { ok: false, error: 'invalid_range' }, { headers: JSON_HEADERS });
    const b = await failure(client.fetchPage({ oldest: 1 }));
    expect(b.code).toBe('SLACK_AUDIT_SLACK_INVALID_RANGE');
    expect(b.details).toMatchObject({ slackError: 'invalid_range', httpStatus: 200, endpoint: '/logs' });
  });

  it.each([
    [401, 'invalid_authentication'],
    [401, 'missing_authentication'],
    [403, 'feature_not_enabled'],
    [403, 'team_not_authorized'],
    [403, 'user_not_authorized'],
    [400, 'invalid_action'],
    [404, 'bad_endpoint'],
    [403, 'invalid_workspace'],
    [405, 'method_not_allowed'],
    [200, 'not_authed'],
    [200, 'invalid_auth'],
    [200, 'token_revoked'],
  ])('maps HTTP %i %s to a non-retryable FATAL', async (status, error) => {
    logs().reply(status, { ok: false, error }, { headers: JSON_HEADERS });
    const e = await failure(client.fetchPage({}));
    expect(e.code).toBe('SLACK_AUDIT_SLACK_FATAL');
    expect(e.retryable).toBe(false);
    expect(e.details).toMatchObject({ slackError: error, httpStatus: status, endpoint: '/logs' });
  });

  it('maps a bare 401 without a JSON body to FATAL, not to a hot retry', async () => {
    logs().reply(401, '', {});
    const e = await failure(client.fetchPage({}));
    expect(e.code).toBe('SLACK_AUDIT_SLACK_FATAL');
    expect(e.retryable).toBe(false);
  });
});

describe('AuditLogsClient.actions / schemas', () => {
  it('reads /actions and /schemas without sending the token', async () => {
    const auths: unknown[] = [];
    const pool = agent.get(ORIGIN);
    const headers = (h: Record<string, string>): boolean => {
      auths.push(h.authorization);
      return true;
    };
    pool.intercept({ path: '/audit/v1/actions', method: 'GET', headers }).reply(200, { actions: { user: ['user_login'], file: ['file_downloaded'] } }, { headers: JSON_HEADERS });
    pool.intercept({ path: '/audit/v1/schemas', method: 'GET', headers }).reply(200, { schemas: [{ type: 'user', user: {} }] }, { headers: JSON_HEADERS });
    expect(await client.actions()).toEqual({ user: ['user_login'], file: ['file_downloaded'] });
    expect(await client.schemas()).toEqual([{ type: 'user', user: {} }]);
    expect(auths.length).toBeGreaterThanOrEqual(2);
    expect(auths.every((a) => a === undefined)).toBe(true);
  });

  it('classifies /actions failures like /logs', async () => {
    agent.get(ORIGIN).intercept({ path: '/audit/v1/actions', method: 'GET' }).reply(503, 'down', {});
    const e = await failure(client.actions());
    expect(e.code).toBe('SLACK_AUDIT_SLACK_SERVER');
    expect(e.details.endpoint).toBe('/actions');
  });
});
