import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { request } from 'undici';
import { AuditLogsClient, type LogsQuery } from '../../src/slack/audit-client.js';
import { SlackAdminClient } from '../../src/slack/admin-client.js';
import { SlackAuditError } from '../../src/errors.js';
import { auditEntrySchema, type RawEntry } from '../../src/slack/entry.js';
import { startSimulator, type SimHandle } from '../../src/sim/server.js';
import { ATTACK_STORY, BOT_USER_ID, OWN_APP_ID, PRIMARY_OWNER_ID, PROTECTED_ADMIN_ID, STORY_TOR_IP, VICTIM_USER_ID } from '../../src/sim/story.js';

/**
 * Conformance of the simulator with the Slack behaviour in ../shared/slack-api.md, checked through the
 * real AuditLogsClient / SlackAdminClient over HTTP. Fast: small histories, no live sleeps beyond ~1s.
 */

const TOKEN = 'xoxp-conformance-audit-token';
const ADMIN_TOKEN = 'xoxp-conformance-admin-token';
const ANCHOR = 1_767_000_000; // fixed end of history: deterministic ids and dates

function dateOf(e: RawEntry): number {
  return auditEntrySchema.parse(e).date_create;
}
function idOf(e: RawEntry): string {
  return auditEntrySchema.parse(e).id;
}

async function pageAll(client: AuditLogsClient, q: LogsQuery, maxPages = 500): Promise<{ entries: RawEntry[]; pages: number[] }> {
  const entries: RawEntry[] = [];
  const pages: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.fetchPage({ ...q, ...(cursor === undefined ? {} : { cursor }) });
    entries.push(...page.entries);
    pages.push(page.entries.length);
    cursor = page.nextCursor;
  } while (cursor !== undefined && pages.length < maxPages);
  return { entries, pages };
}

async function getJson<T>(url: string, schema: z.ZodType<T>): Promise<T> {
  const res = await request(url);
  return schema.parse(await res.body.json());
}

async function control(sim: SimHandle, body: Record<string, unknown>): Promise<void> {
  const res = await request(`${sim.url}/_sim/control`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  expect(res.statusCode).toBe(200);
  await res.body.text();
}

const idsSchema = z.object({ ids: z.array(z.string()), count: z.number() });
const statsSchema = z.object({ requests: z.number(), rateLimited: z.number(), retryAfterIgnored: z.number(), served5xx: z.number() }).loose();

async function expectCode(p: Promise<unknown>, code: string): Promise<SlackAuditError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SlackAuditError);
    expect((err as SlackAuditError).code).toBe(code);
    return err as SlackAuditError;
  }
  throw new Error(`expected ${code}`);
}

describe('simulator: history paging (static)', () => {
  let sim: SimHandle;
  let client: AuditLogsClient;

  beforeAll(async () => {
    sim = await startSimulator({ seed: 'conf', token: TOKEN, adminToken: ADMIN_TOKEN, anchorTime: ANCHOR, historicalEvents: 1500, historyHours: 2, liveRatePerSecond: 0, sameSecondBurstSize: 40, rateLimitPerMinute: 0, attackStory: true, attackStoryOffsetSeconds: -1800 });
    client = new AuditLogsClient({ baseUrl: sim.auditUrl, token: TOKEN, sourceId: 'conformance', timeoutMs: 5_000 });
  });
  afterAll(async () => {
    await client.close();
    await sim.close();
  });

  it('pages the whole history newest first, each id once, matching the introspection list', async () => {
    const { entries } = await pageAll(client, { oldest: ANCHOR - 3 * 3600, limit: 200 });
    const dates = entries.map(dateOf);
    for (let i = 1; i < dates.length; i++) expect(dates[i]).toBeLessThanOrEqual(dates[i - 1] ?? Infinity);
    const ids = entries.map(idOf);
    expect(new Set(ids).size).toBe(ids.length);
    const produced = await getJson(`${sim.url}/_sim/events`, idsSchema);
    expect([...ids].sort()).toEqual([...produced.ids].sort());
    expect(produced.count).toBe(1500 + ATTACK_STORY.targets.length * (1 + ATTACK_STORY.downloadsPerTarget));
  });

  it('is deterministic from the seed and anchor', async () => {
    const again = await startSimulator({ seed: 'conf', token: TOKEN, anchorTime: ANCHOR, historicalEvents: 1500, historyHours: 2, liveRatePerSecond: 0, sameSecondBurstSize: 40, rateLimitPerMinute: 0, attackStoryOffsetSeconds: -1800 });
    try {
      expect(again.state.store.producedIds).toEqual(sim.state.store.producedIds);
    } finally {
      await again.close();
    }
  });

  it('treats oldest and latest as inclusive second bounds', async () => {
    const all = sim.state.store.all();
    const mid = all[Math.floor(all.length / 2)];
    if (!mid) throw new Error('no events');
    const oldest = mid.date - 120;
    const latest = mid.date;
    const { entries } = await pageAll(client, { oldest, latest, limit: 50 });
    const expected = all.filter((e) => e.date >= oldest && e.date <= latest).map((e) => idOf(e.entry));
    expect(entries.map(idOf).sort()).toEqual(expected.sort());
    expect(entries.some((e) => dateOf(e) === oldest) || !all.some((e) => e.date === oldest)).toBe(true);
    expect(entries.some((e) => dateOf(e) === latest)).toBe(true);
  });

  it('lets a page exceed limit for a same-second group, and never splits a second across pages', async () => {
    // Find the burst second (40 entries in one second).
    const counts = new Map<number, number>();
    for (const e of sim.state.store.all()) counts.set(e.date, (counts.get(e.date) ?? 0) + 1);
    const burst = [...counts].find(([, n]) => n >= 40);
    if (!burst) throw new Error('no burst in history');
    const [second, n] = burst;
    const first = await client.fetchPage({ oldest: second - 5, latest: second, limit: 10 });
    expect(first.entries.length).toBe(n);
    expect(first.entries.every((e) => dateOf(e) === second)).toBe(true);
    const { pages, entries } = await pageAll(client, { oldest: ANCHOR - 3 * 3600, limit: 7 });
    expect(Math.max(...pages)).toBeGreaterThan(7);
    // No second appears on two pages.
    let offset = 0;
    const secondsByPage: Set<number>[] = [];
    for (const size of pages) {
      secondsByPage.push(new Set(entries.slice(offset, offset + size).map(dateOf)));
      offset += size;
    }
    for (let i = 1; i < secondsByPage.length; i++) {
      for (const s of secondsByPage[i] ?? []) expect(secondsByPage[i - 1]?.has(s)).toBe(false);
    }
  });

  it('validates limit, range, action and auth like Slack', async () => {
    await expectCode(client.fetchPage({ limit: 10000 }), 'SLACK_AUDIT_SLACK_FATAL');
    await expectCode(client.fetchPage({ limit: 0 }), 'SLACK_AUDIT_SLACK_FATAL');
    await expectCode(client.fetchPage({ oldest: 1_000_000 }), 'SLACK_AUDIT_SLACK_INVALID_RANGE');
    await expectCode(client.fetchPage({ oldest: ANCHOR * 2 }), 'SLACK_AUDIT_SLACK_INVALID_RANGE');
    const badAction = await expectCode(client.fetchPage({ action: 'user_login,not_a_real_action' }), 'SLACK_AUDIT_SLACK_FATAL');
    expect(badAction.details.slackError).toBe('invalid_action');
    await expectCode(client.fetchPage({ cursor: 'bm90LWEtY3Vyc29y' }), 'SLACK_AUDIT_SLACK_INVALID_CURSOR');
    const wrong = new AuditLogsClient({ baseUrl: sim.auditUrl, token: 'xoxp-wrong-token-000', sourceId: 'conformance' });
    const missing = new AuditLogsClient({ baseUrl: sim.auditUrl, token: '', sourceId: 'conformance' });
    try {
      expect((await expectCode(wrong.fetchPage({}), 'SLACK_AUDIT_SLACK_FATAL')).details.slackError).toBe('invalid_authentication');
      // An empty token sends "Bearer " which the simulator treats as missing.
      expect((await expectCode(missing.fetchPage({}), 'SLACK_AUDIT_SLACK_FATAL')).details.slackError).toMatch(/missing_authentication|invalid_authentication/);
      // /actions and /schemas need no auth.
      const actions = await wrong.actions();
      expect(actions.user).toContain('anomaly');
      expect((await wrong.schemas()).length).toBeGreaterThan(5);
    } finally {
      await wrong.close();
      await missing.close();
    }
  });

  it('applies action, actor and entity filters (ANDed)', async () => {
    const downloads = await pageAll(client, { action: 'file_downloaded,anomaly', actor: VICTIM_USER_ID, limit: 100 });
    const expected = sim.state.store.all().filter((e) => e.actorId === VICTIM_USER_ID && (e.action === 'file_downloaded' || e.action === 'anomaly')).length;
    expect(expected).toBeGreaterThanOrEqual(1 + ATTACK_STORY.downloadsPerTarget);
    expect(downloads.entries.length).toBe(expected);
    expect(downloads.entries.every((e) => ['file_downloaded', 'anomaly'].includes(String(e.action)))).toBe(true);
    const anomaly = downloads.entries.find((e) => e.action === 'anomaly' && JSON.stringify(e).includes(STORY_TOR_IP));
    expect(anomaly).toBeDefined();
    expect(JSON.stringify(anomaly)).toContain('session_fingerprint');
    const aFile = sim.state.store.all().find((e) => e.action === 'file_downloaded')?.entityId;
    const byEntity = await pageAll(client, { entity: aFile ?? 'none', limit: 100 });
    expect(byEntity.entries.length).toBeGreaterThan(0);
    expect(byEntity.entries.every((e) => JSON.stringify(e.entity).includes(aFile ?? 'none'))).toBe(true);
  });

  it('runs a cursor sent without oldest on into older history (the cursor does not remember oldest)', async () => {
    const oldest = ANCHOR - 600;
    const first = await client.fetchPage({ oldest, limit: 20 });
    expect(first.nextCursor).toBeDefined();
    const inWindow = sim.state.store.all().filter((e) => e.date >= oldest).length;
    // Correct: resend oldest on every page, and the run stops at the window.
    const correct = await pageAll(client, { oldest, limit: 20 });
    expect(correct.entries.length).toBe(inWindow);
    expect(correct.entries.every((e) => dateOf(e) >= oldest)).toBe(true);
    // The bug peers shipped: follow the cursor without oldest, and paging runs into all history.
    let cursor = first.nextCursor;
    const leaked: RawEntry[] = [...first.entries];
    while (cursor !== undefined) {
      const page = await client.fetchPage({ limit: 500, cursor });
      leaked.push(...page.entries);
      cursor = page.nextCursor;
    }
    expect(leaked.some((e) => dateOf(e) < oldest)).toBe(true);
    expect(leaked.length).toBe(sim.state.store.size);
  });

  it('ships odd-but-valid shapes that the tolerant entry schema accepts', async () => {
    const { entries } = await pageAll(client, { limit: 9999 });
    expect(entries.every((e) => auditEntrySchema.safeParse(e).success)).toBe(true);
    const json = entries.map((e) => JSON.stringify(e));
    expect(json.some((j) => j.includes('"ip_address":""'))).toBe(true);
    expect(json.some((j) => /"ip_address":"[0-9a-f:]+::/.test(j))).toBe(true);
    expect(json.some((j) => j.includes('"app":null'))).toBe(true);
    expect(json.some((j) => /"session_id":\d+/.test(j))).toBe(true);
    expect(json.some((j) => /"session_id":"\d+"/.test(j))).toBe(true);
    expect(json.some((j) => j.includes('"session_id":null'))).toBe(true);
    expect(json.some((j) => /"reason":"[a-z_]+"/.test(j))).toBe(true);
    expect(json.some((j) => /"reason":\[/.test(j))).toBe(true);
    expect(json.some((j) => j.includes('"type":"gadget"'))).toBe(true);
    expect(json.some((j) => /"action_timestamp":\d{16}/.test(j))).toBe(true);
    expect(json.some((j) => /"action_timestamp":\d{13}[,}]/.test(j))).toBe(true);
  });
});

describe('simulator: rate limiting and faults', () => {
  let sim: SimHandle;
  let client: AuditLogsClient;

  beforeAll(async () => {
    sim = await startSimulator({ seed: 'rl', token: TOKEN, adminToken: ADMIN_TOKEN, historicalEvents: 200, liveRatePerSecond: 0, rateLimitPerMinute: 5, attackStory: false });
    client = new AuditLogsClient({ baseUrl: sim.auditUrl, token: TOKEN, sourceId: 'conformance', timeoutMs: 1_000 });
  });
  afterAll(async () => {
    await client.close();
    await sim.close();
  });

  it('enforces the token bucket with Retry-After and counts requests that ignore it', async () => {
    for (let i = 0; i < 5; i++) await client.fetchPage({ limit: 1 });
    const limited = await expectCode(client.fetchPage({ limit: 1 }), 'SLACK_AUDIT_SLACK_RATE_LIMITED');
    expect(limited.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // Two impatient requests inside the announced wait: both refused, both counted.
    await expectCode(client.fetchPage({ limit: 1 }), 'SLACK_AUDIT_SLACK_RATE_LIMITED');
    await expectCode(client.fetchPage({ limit: 1 }), 'SLACK_AUDIT_SLACK_RATE_LIMITED');
    const stats = await getJson(`${sim.url}/_sim/stats`, statsSchema);
    expect(stats.retryAfterIgnored).toBe(2);
    expect(stats.rateLimited).toBe(3);
  });

  it('runs a compressed 429 storm and honours a client that waits it out', async () => {
    await control(sim, { resetRateLimits: true, rateLimitPerMinute: 0, faults: { timeScale: 3600 }, stormSeconds: 1800 });
    const e = await expectCode(client.fetchPage({ limit: 1 }), 'SLACK_AUDIT_SLACK_RATE_LIMITED');
    expect(e.retryAfterSeconds).toBe(1);
    const before = (await getJson(`${sim.url}/_sim/stats`, statsSchema)).retryAfterIgnored;
    await new Promise((r) => setTimeout(r, (e.retryAfterSeconds ?? 1) * 1000 + 50));
    const page = await client.fetchPage({ limit: 1 });
    expect(page.entries.length).toBe(1);
    expect((await getJson(`${sim.url}/_sim/stats`, statsSchema)).retryAfterIgnored).toBe(before);
  });

  it('serves 5xx, HTML, malformed JSON, hangs and expiring cursors on demand, all classified', async () => {
    await control(sim, { resetRateLimits: true, faultsOff: true, faults: { error5xxRate: 1 } });
    await expectCode(client.fetchPage({}), 'SLACK_AUDIT_SLACK_SERVER');
    await control(sim, { faultsOff: true, faults: { htmlErrorRate: 1 } });
    await expectCode(client.fetchPage({}), 'SLACK_AUDIT_SLACK_SERVER');
    await control(sim, { faultsOff: true, faults: { malformedJsonRate: 1 } });
    await expectCode(client.fetchPage({}), 'SLACK_AUDIT_SLACK_BAD_BODY');
    await control(sim, { faultsOff: true, faults: { hangRate: 1 } });
    await expectCode(client.fetchPage({}), 'SLACK_AUDIT_SLACK_TIMEOUT');
    await control(sim, { faultsOff: true, faults: { cursorTtlSeconds: 1, timeScale: 20 } });
    const first = await client.fetchPage({ limit: 5 });
    await new Promise((r) => setTimeout(r, 120));
    await expectCode(client.fetchPage({ limit: 5, cursor: first.nextCursor ?? '' }), 'SLACK_AUDIT_SLACK_INVALID_CURSOR');
    await control(sim, { faultsOff: true, faults: { timeScale: 1 } });
    const stats = await getJson(`${sim.url}/_sim/stats`, statsSchema.extend({ servedHtml: z.number(), servedMalformed: z.number(), hung: z.number(), invalidCursor: z.number() }));
    expect(stats).toMatchObject({ served5xx: 2, servedHtml: 1, servedMalformed: 1, hung: 1, invalidCursor: 1 });
  });
});

describe('simulator: live mode', () => {
  it('loses nothing while paging during arrivals, once a follow-up poll of the same window runs', async () => {
    const sim = await startSimulator({ seed: 'live', token: TOKEN, historicalEvents: 300, historyHours: 0.05, liveRatePerSecond: 150, sameSecondBurstSize: 5, rateLimitPerMinute: 0, attackStory: false, faults: { slowMs: 40, lateRate: 0.2, maxLatenessSeconds: 20 } });
    const client = new AuditLogsClient({ baseUrl: sim.auditUrl, token: TOKEN, sourceId: 'conformance', timeoutMs: 5_000 });
    try {
      const oldest = Math.floor(Date.now() / 1000) - 600;
      const seen = new Set<string>();
      // First pass pages slowly while events (some late) keep arriving.
      const firstPass = await pageAll(client, { oldest, limit: 10 });
      for (const e of firstPass.entries) seen.add(idOf(e));
      await control(sim, { liveRatePerSecond: 0 });
      await new Promise((r) => setTimeout(r, 300));
      const produced = await getJson(`${sim.url}/_sim/events`, idsSchema);
      const missedAfterFirst = produced.ids.filter((id) => !seen.has(id)).length;
      // Events did arrive during the first pass and were not all in it.
      expect(missedAfterFirst).toBeGreaterThan(0);
      // Follow-up poll of the same window (the collector's re-scan) picks up everything.
      const followUp = await pageAll(client, { oldest, limit: 500 });
      for (const e of followUp.entries) seen.add(idOf(e));
      expect(produced.ids.filter((id) => !seen.has(id))).toEqual([]);
      expect((await getJson(`${sim.url}/_sim/stats`, z.object({ lateEvents: z.number() }).loose())).lateEvents).toBeGreaterThan(0);
    } finally {
      await client.close();
      await sim.close();
    }
  });
});

describe('simulator: admin API', () => {
  let sim: SimHandle;
  let admin: SlackAdminClient;
  let audit: AuditLogsClient;

  beforeAll(async () => {
    sim = await startSimulator({ seed: 'admin', token: TOKEN, adminToken: ADMIN_TOKEN, historicalEvents: 50, liveRatePerSecond: 0, rateLimitPerMinute: 0 });
    admin = new SlackAdminClient({ baseUrl: sim.apiUrl, token: ADMIN_TOKEN, timeoutMs: 2_000 });
    audit = new AuditLogsClient({ baseUrl: sim.auditUrl, token: TOKEN, sourceId: 'conformance', timeoutMs: 2_000 });
  });
  afterAll(async () => {
    await admin.close();
    await audit.close();
    await sim.close();
  });

  it('resets a user, records the call, and writes user_session_reset_by_admin into the audit log', async () => {
    const t0 = Math.floor(Date.now() / 1000);
    await admin.resetSession({ userId: VICTIM_USER_ID, mobileOnly: false, webOnly: false });
    const page = await audit.fetchPage({ oldest: t0, action: 'user_session_reset_by_admin', entity: VICTIM_USER_ID });
    expect(page.entries.length).toBe(1);
    const entry = page.entries[0] as Record<string, unknown>;
    expect(entry).toMatchObject({ action: 'user_session_reset_by_admin', actor: { user: { id: 'W0SECADM01' } }, entity: { type: 'user', user: { id: VICTIM_USER_ID } }, context: { app: { id: OWN_APP_ID } }, details: { mobile_only: false, web_only: false, non_sso_only: false } });
    const calls = await getJson(`${sim.url}/_sim/admin-calls`, z.object({ calls: z.array(z.object({ method: z.string(), userId: z.string().optional(), outcome: z.string(), auditEntryId: z.string().optional() }).loose()) }));
    expect(calls.calls).toEqual([expect.objectContaining({ method: 'admin.users.session.reset', userId: VICTIM_USER_ID, outcome: 'ok', auditEntryId: entry.id })]);
    expect((await getJson(`${sim.url}/_sim/events`, idsSchema)).ids).toContain(entry.id);
    expect((await admin.listSessions({ userId: VICTIM_USER_ID, teamId: 'T0SIMENG01' })).sessions).toEqual([]);
  });

  it('refuses the primary owner and bots (terminal), rejects bad tokens, and still resets protected admins (guards are ours)', async () => {
    expect((await expectCode(admin.resetSession({ userId: PRIMARY_OWNER_ID }), 'SLACK_AUDIT_SLACK_TERMINAL')).details.slackError).toBe('cannot_reset_primary_owner');
    expect((await expectCode(admin.resetSession({ userId: BOT_USER_ID }), 'SLACK_AUDIT_SLACK_TERMINAL')).details.slackError).toBe('cannot_reset_bot');
    expect((await expectCode(admin.resetSession({ userId: 'W0NOBODY99' }), 'SLACK_AUDIT_SLACK_TERMINAL')).details.slackError).toBe('user_not_found');
    const bad = new SlackAdminClient({ baseUrl: sim.apiUrl, token: 'xoxp-not-the-admin-token' });
    try {
      expect((await expectCode(bad.resetSession({ userId: VICTIM_USER_ID }), 'SLACK_AUDIT_SLACK_TERMINAL')).details.slackError).toBe('invalid_auth');
    } finally {
      await bad.close();
    }
    await admin.resetSession({ userId: PROTECTED_ADMIN_ID, webOnly: true });
    await control(sim, { faults: { adminFailRate: 1 } });
    await expectCode(admin.resetSession({ userId: VICTIM_USER_ID }), 'SLACK_AUDIT_SLACK_RETRYABLE');
    await control(sim, { faultsOff: true, faults: { admin429Rate: 1, timeScale: 30 } });
    expect((await expectCode(admin.resetSession({ userId: VICTIM_USER_ID }), 'SLACK_AUDIT_SLACK_RATE_LIMITED')).retryAfterSeconds).toBe(1);
    await control(sim, { faultsOff: true, faults: { timeScale: 1 } });
    await admin.resetSessionBulk({ userIds: [VICTIM_USER_ID, PRIMARY_OWNER_ID] });
    const calls = sim.state.adminCalls.filter((c) => c.method !== 'admin.users.session.list').map((c) => `${c.method}:${c.userId ?? (c.userIds ?? []).join('+')}:${c.outcome}`);
    expect(calls.slice(1)).toEqual([
      `admin.users.session.reset:${PRIMARY_OWNER_ID}:cannot_reset_primary_owner`,
      `admin.users.session.reset:${BOT_USER_ID}:cannot_reset_bot`,
      'admin.users.session.reset:W0NOBODY99:user_not_found',
      `admin.users.session.reset:${VICTIM_USER_ID}:invalid_auth`,
      `admin.users.session.reset:${PROTECTED_ADMIN_ID}:ok`,
      `admin.users.session.reset:${VICTIM_USER_ID}:user_session_reset_failed`,
      `admin.users.session.reset:${VICTIM_USER_ID}:ratelimited`,
      `admin.users.session.resetBulk:${VICTIM_USER_ID}+${PRIMARY_OWNER_ID}:ok`,
    ]);
  });

  it('accepts injected entries and lists them with everything else', async () => {
    const entry = { id: 'inj-00000000-0000-4000-8000-000000000001', date_create: Math.floor(Date.now() / 1000), action: 'user_login', actor: { type: 'user', user: { id: 'W0INJECTED1' } } };
    const res = await request(`${sim.url}/_sim/inject`, { method: 'POST', body: JSON.stringify({ entries: [entry] }), headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    const page = await audit.fetchPage({ actor: 'W0INJECTED1' });
    expect(page.entries).toEqual([entry]);
    // Injected users become org members, so a response against them works.
    await admin.resetSession({ userId: 'W0INJECTED1' });
  });
});
