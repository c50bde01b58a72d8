import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { z } from 'zod';
import { ACTIONS_BY_CATEGORY, KNOWN_ACTIONS, SCHEMAS } from './catalog.js';
import { EARLIEST_AUDIT_SECOND, SimState, type SimOptions } from './state.js';
import type { Position } from './store.js';

/**
 * The simulator's HTTP face (plain node:http): Slack's Audit Logs API under /audit/v1, the admin session
 * methods under /api, and introspection/control under /_sim for tests. Behaviour follows
 * ../shared/slack-api.md; see state.ts for the bookkeeping.
 */

export interface SimHandle {
  url: string;
  /** url + '/audit/v1' */
  auditUrl: string;
  /** url + '/api' */
  apiUrl: string;
  state: SimState;
  close(): Promise<void>;
}

const MAX_LIMIT = 9999;
const DEFAULT_LIMIT = 100;
const MAX_ACTION_FILTERS = 30;
const TICK_MS = 200;

const faultsPatch = z
  .object({
    rate429: z.number().min(0).max(1),
    retryAfterSeconds: z.number().min(0),
    error5xxRate: z.number().min(0).max(1),
    htmlErrorRate: z.number().min(0).max(1),
    slowMs: z.number().min(0),
    hangRate: z.number().min(0).max(1),
    malformedJsonRate: z.number().min(0).max(1),
    cursorTtlSeconds: z.number().min(0),
    lateRate: z.number().min(0).max(1),
    maxLatenessSeconds: z.number().min(0),
    stormSeconds: z.number().min(0),
    timeScale: z.number().positive(),
    adminFailRate: z.number().min(0).max(1),
    admin429Rate: z.number().min(0).max(1),
  })
  .partial()
  .strict();

const controlBody = z
  .object({
    faults: faultsPatch.optional(),
    /** Turn every fault off (applied before `faults`). */
    faultsOff: z.boolean().optional(),
    liveRatePerSecond: z.number().min(0).optional(),
    rateLimitPerMinute: z.number().min(0).optional(),
    /** Start a 429 storm of this many Slack seconds now (0 ends a running one). */
    stormSeconds: z.number().min(0).optional(),
    resetRateLimits: z.boolean().optional(),
    playAttackStory: z.boolean().optional(),
  })
  .strict();

const injectBody = z.object({ entries: z.array(z.record(z.string(), z.unknown())) }).strict();

const adminBody = z
  .object({
    token: z.string().optional(),
    user_id: z.string().optional(),
    user_ids: z.union([z.array(z.string()), z.string()]).optional(),
    team_id: z.string().optional(),
    mobile_only: z.union([z.boolean(), z.string()]).optional(),
    web_only: z.union([z.boolean(), z.string()]).optional(),
    cursor: z.string().optional(),
    limit: z.union([z.number(), z.string()]).optional(),
  })
  .loose();

export function encodeCursor(pos: Position, issuedMs: number): string {
  return Buffer.from(`pos:${pos.date}:${pos.seq}:${issuedMs}`, 'utf8').toString('base64');
}

export function decodeCursor(cursor: string): { pos: Position; issuedMs: number } | undefined {
  const m = /^pos:(\d+):(\d+):(\d+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
  if (!m) return undefined;
  return { pos: { date: Number(m[1]), seq: Number(m[2]) }, issuedMs: Number(m[3]) };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (typeof body !== 'string') {
    sendJsonText(res, status, JSON.stringify(body), headers);
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function sendJsonText(res: ServerResponse, status: number, json: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json), ...headers });
  res.end(json);
}

async function readBody(req: IncomingMessage, maxBytes = 16 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > maxBytes) throw new Error('body too large');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  return m?.[1]?.trim();
}

function intParam(v: string | null): number | undefined | 'bad' {
  if (v === null || v === '') return undefined;
  return /^\d+$/.test(v) ? Number(v) : 'bad';
}

function bool(v: boolean | string | undefined): boolean {
  return v === true || v === 'true' || v === '1';
}

export async function startSimulator(opts: SimOptions = {}): Promise<SimHandle> {
  const state = new SimState(opts);
  const hung = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  function logs(req: IncomingMessage, res: ServerResponse, url: URL): void {
    state.stats.logsRequests++;
    const token = bearer(req);
    if (token === undefined) {
      state.stats.authFailures++;
      send(res, 401, { ok: false, error: 'missing_authentication' });
      return;
    }
    if (token !== state.token) {
      state.stats.authFailures++;
      send(res, 401, { ok: false, error: 'invalid_authentication' });
      return;
    }
    const admission = state.admit(token);
    if (!admission.ok) {
      // Both spellings occur in the wild (§1.8); clients must key on the 429 status.
      send(res, 429, { ok: false, error: state.faultRng.chance(0.5) ? 'ratelimited' : 'rate_limited' }, { 'retry-after': String(admission.retryAfterSeconds) });
      return;
    }
    const f = state.faults;
    const rng = state.faultRng;
    if (rng.chance(f.hangRate)) {
      state.stats.hung++;
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return;
    }
    const respond = (): void => {
      if (rng.chance(f.error5xxRate)) {
        state.stats.served5xx++;
        if (rng.chance(0.5)) send(res, 500, { ok: false, error: 'internal_error' });
        else send(res, 503, 'Service Unavailable');
        return;
      }
      if (rng.chance(f.htmlErrorRate)) {
        state.stats.served5xx++;
        state.stats.servedHtml++;
        const status = rng.chance(0.5) ? 502 : 504;
        const html = `<html><head><title>${status} Bad Gateway</title></head><body><center><h1>${status} Bad Gateway</h1></center><hr><center>nginx</center></body></html>`;
        res.writeHead(status, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(html) });
        res.end(html);
        return;
      }
      if (rng.chance(f.malformedJsonRate)) {
        state.stats.servedMalformed++;
        send(res, 200, '{"ok":true,"entries":[{"id":"', { 'content-type': 'application/json; charset=utf-8' });
        return;
      }
      serveLogs(res, url);
    };
    if (f.slowMs > 0) later(f.slowMs, respond);
    else respond();
  }

  function serveLogs(res: ServerResponse, url: URL): void {
    const p = url.searchParams;
    const bad = (error: string, status = 400): void => {
      send(res, status, { ok: false, error });
    };
    const limit = intParam(p.get('limit'));
    if (limit === 'bad' || (limit !== undefined && (limit < 1 || limit > MAX_LIMIT))) {
      bad('invalid_limit');
      return;
    }
    const oldest = intParam(p.get('oldest'));
    const latest = intParam(p.get('latest'));
    if (oldest === 'bad' || latest === 'bad') {
      bad('invalid_arguments');
      return;
    }
    const now = state.nowSec();
    if ((oldest !== undefined && (oldest < EARLIEST_AUDIT_SECOND || oldest > now + 60)) || (latest !== undefined && latest < EARLIEST_AUDIT_SECOND) || (oldest !== undefined && latest !== undefined && oldest > latest)) {
      bad('invalid_range');
      return;
    }
    let actions: Set<string> | undefined;
    const actionParam = p.get('action');
    if (actionParam !== null && actionParam !== '') {
      const list = actionParam.split(',').map((a) => a.trim()).filter((a) => a !== '');
      if (list.length > MAX_ACTION_FILTERS || list.some((a) => !KNOWN_ACTIONS.has(a))) {
        bad('invalid_action');
        return;
      }
      actions = new Set(list);
    }
    let after: Position | undefined;
    const cursor = p.get('cursor');
    if (cursor !== null && cursor !== '') {
      const decoded = decodeCursor(cursor);
      const expired = decoded !== undefined && state.faults.cursorTtlSeconds > 0 && state.nowMs() - decoded.issuedMs > state.scaledMs(state.faults.cursorTtlSeconds);
      if (!decoded || expired) {
        state.stats.invalidCursor++;
        bad('invalid_cursor');
        return;
      }
      after = decoded.pos;
    }
    const result = state.store.query({
      // The cursor carries a position only: without `oldest` on this request, paging runs on into all history (§1.4).
      oldest: oldest ?? 0,
      latest: latest ?? Number.MAX_SAFE_INTEGER,
      limit: limit ?? DEFAULT_LIMIT,
      actions,
      actor: p.get('actor') ?? undefined,
      entity: p.get('entity') ?? undefined,
      after,
    });
    state.stats.entriesServed += result.entries.length;
    // The body is assembled from the entries' stored JSON: serving a page costs no re-serialization.
    const meta = JSON.stringify({ next_cursor: result.next ? encodeCursor(result.next, state.nowMs()) : '' });
    sendJsonText(res, 200, `{"ok":true,"entries":[${result.json.join(',')}],"response_metadata":${meta}}`);
  }

  async function admin(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    const text = await readBody(req);
    let raw: unknown = {};
    const ctype = req.headers['content-type'] ?? '';
    try {
      raw = ctype.includes('application/json') ? (JSON.parse(text === '' ? '{}' : text) as unknown) : Object.fromEntries(new URLSearchParams(text));
    } catch {
      send(res, 200, { ok: false, error: 'invalid_json' });
      return;
    }
    const parsed = adminBody.safeParse(raw);
    const body = parsed.success ? parsed.data : {};
    const token = bearer(req) ?? body.token;
    const call = {
      at: state.nowMs(),
      method,
      userId: body.user_id,
      userIds: Array.isArray(body.user_ids) ? body.user_ids : typeof body.user_ids === 'string' ? parseUserIds(body.user_ids) : undefined,
      mobileOnly: bool(body.mobile_only),
      webOnly: bool(body.web_only),
    };
    const reply = (status: number, payload: Record<string, unknown>, headers: Record<string, string> = {}, auditEntryId?: string): void => {
      state.recordAdminCall({ ...call, outcome: payload.ok === true ? 'ok' : String(payload.error), httpStatus: status, auditEntryId });
      send(res, status, payload, headers);
    };
    if (!parsed.success) {
      reply(200, { ok: false, error: 'invalid_arguments' });
      return;
    }
    if (token === undefined) {
      reply(200, { ok: false, error: 'not_authed' });
      return;
    }
    if (token !== state.adminToken) {
      reply(200, { ok: false, error: 'invalid_auth' });
      return;
    }
    if (state.faultRng.chance(state.faults.admin429Rate)) {
      reply(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(Math.max(1, Math.ceil(state.scaledMs(state.faults.retryAfterSeconds) / 1000))) });
      return;
    }
    if (method === 'admin.users.session.reset') {
      if (call.userId === undefined || call.userId === '') {
        reply(200, { ok: false, error: 'invalid_arguments' });
        return;
      }
      const r = state.resetUser(call.userId, { mobileOnly: call.mobileOnly, webOnly: call.webOnly });
      if (r.error !== undefined) reply(200, { ok: false, error: r.error });
      else reply(200, { ok: true }, {}, r.entryId);
      return;
    }
    if (method === 'admin.users.session.resetBulk') {
      if (call.userIds === undefined || call.userIds.length === 0 || call.userIds.length > 1000) {
        reply(200, { ok: false, error: 'invalid_arguments' });
        return;
      }
      const r = state.resetBulk(call.userIds);
      reply(200, { ok: true }, {}, r.entryId);
      return;
    }
    // admin.users.session.list: team_id and user_id come together or not at all (§3.4).
    if ((body.user_id === undefined) !== (body.team_id === undefined)) {
      reply(200, { ok: false, error: body.user_id === undefined ? 'missing_user' : 'missing_team' });
      return;
    }
    const sessions = state.sessions(body.user_id);
    const limit = Math.min(1000, Math.max(1, Number(body.limit ?? 1000) || 1000));
    const start = body.cursor === undefined ? 0 : Number(Buffer.from(body.cursor, 'base64').toString('utf8').replace(/^offset:/, '')) || 0;
    const page = sessions.slice(start, start + limit);
    const next = start + limit < sessions.length ? Buffer.from(`offset:${start + limit}`).toString('base64') : '';
    reply(200, { ok: true, active_sessions: page, response_metadata: { next_cursor: next } });
  }

  async function control(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse((await readBody(req)) || '{}') as unknown;
    } catch {
      send(res, 400, { ok: false, error: 'invalid_json' });
      return;
    }
    const parsed = controlBody.safeParse(raw);
    if (!parsed.success) {
      send(res, 400, { ok: false, error: 'invalid_control', issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
      return;
    }
    const c = parsed.data;
    if (c.faultsOff === true) {
      const f = state.faults;
      f.rate429 = f.error5xxRate = f.htmlErrorRate = f.slowMs = f.hangRate = f.malformedJsonRate = f.cursorTtlSeconds = f.lateRate = f.adminFailRate = f.admin429Rate = 0;
      f.stormSeconds = 0;
      state.stormUntilMs = 0;
    }
    if (c.faults) Object.assign(state.faults, Object.fromEntries(Object.entries(c.faults).filter(([, v]) => v !== undefined)));
    if (c.liveRatePerSecond !== undefined) state.liveRatePerSecond = c.liveRatePerSecond;
    if (c.rateLimitPerMinute !== undefined) state.rateLimitPerMinute = c.rateLimitPerMinute;
    if (c.resetRateLimits === true) state.resetRateLimits();
    if (c.stormSeconds !== undefined) {
      if (c.stormSeconds === 0) state.stormUntilMs = 0;
      else state.startStorm(c.stormSeconds);
    }
    const played = c.playAttackStory === true ? state.playAttackStory() : 0;
    send(res, 200, { ok: true, faults: state.faults, liveRatePerSecond: state.liveRatePerSecond, rateLimitPerMinute: state.rateLimitPerMinute, stormActive: state.stormActive(), storyEntries: played });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim.local');
    const path = url.pathname.replace(/\/+$/, '');
    const method = req.method ?? 'GET';
    if (!path.startsWith('/_sim')) state.stats.requests++;
    if (path === '/audit/v1/logs' && method === 'GET') {
      logs(req, res, url);
      return;
    }
    if (path === '/audit/v1/actions' && method === 'GET') {
      send(res, 200, { actions: ACTIONS_BY_CATEGORY });
      return;
    }
    if (path === '/audit/v1/schemas' && method === 'GET') {
      send(res, 200, { schemas: SCHEMAS });
      return;
    }
    if (path.startsWith('/audit/v1/')) {
      send(res, 404, { ok: false, error: 'bad_endpoint' });
      return;
    }
    const apiMethod = /^\/api\/(admin\.users\.session\.(?:reset|resetBulk|list))$/.exec(path)?.[1];
    if (apiMethod !== undefined && method === 'POST') {
      await admin(req, res, apiMethod);
      return;
    }
    if (path.startsWith('/api/')) {
      send(res, 200, { ok: false, error: 'unknown_method' });
      return;
    }
    if (path === '/_sim/events' && method === 'GET') {
      const ids = state.store.producedIds;
      const full = url.searchParams.get('full') === '1';
      send(res, 200, { ids, count: ids.length, ...(full ? { entries: state.store.all().map((e) => e.entry) } : {}) });
      return;
    }
    if (path === '/_sim/admin-calls' && method === 'GET') {
      send(res, 200, { calls: state.adminCalls, count: state.adminCalls.length });
      return;
    }
    if (path === '/_sim/stats' && method === 'GET') {
      send(res, 200, { ...state.stats, events: state.store.size, stormActive: state.stormActive(), liveRatePerSecond: state.liveRatePerSecond, faults: state.faults });
      return;
    }
    if (path === '/_sim/control' && method === 'POST') {
      await control(req, res);
      return;
    }
    if (path === '/_sim/inject' && method === 'POST') {
      let raw: unknown;
      try {
        raw = JSON.parse(await readBody(req)) as unknown;
      } catch {
        send(res, 400, { ok: false, error: 'invalid_json' });
        return;
      }
      const parsed = injectBody.safeParse(raw);
      if (!parsed.success) {
        send(res, 400, { ok: false, error: 'invalid_inject', issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
        return;
      }
      state.inject(parsed.data.entries);
      send(res, 200, { ok: true, count: parsed.data.entries.length });
      return;
    }
    send(res, 404, { ok: false, error: 'not_found' });
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { ok: false, error: 'internal_error', detail: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  let last = Date.now();
  const ticker = setInterval(() => {
    const now = Date.now();
    state.tick(now - last);
    last = now;
  }, TICK_MS);
  ticker.unref();

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (opts.port ?? 0);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    auditUrl: `${url}/audit/v1`,
    apiUrl: `${url}/api`,
    state,
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        clearInterval(ticker);
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const r of hung) r.destroy();
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
      return closed;
    },
  };
}

function parseUserIds(text: string): string[] {
  const t = text.trim();
  if (t.startsWith('[')) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
    } catch {
      return [];
    }
  }
  return t.split(',').map((s) => s.trim()).filter((s) => s !== '');
}
