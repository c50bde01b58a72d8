import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import type { WindowKind } from '../queue/jobs.js';
import { scrubString } from '../observe/secrets.js';
import { collectKeys, type CollectKeys } from './keys.js';
import type { TimeWindow, WindowRecord } from './types.js';

/**
 * Redis persistence of one source's collection state: the source hash (the contract read by `status` and the
 * compliance export, see coverage.ts), in-flight window records, and the atomic "window done" transitions.
 *
 * Ordering that makes a crash at any point safe: pages are enqueued with deterministic job ids, THEN the window
 * record is advanced, and only after the LAST page is enqueued does one Lua script advance the watermark and drop
 * the record. A replay after a crash re-enqueues at most the pages after the last saved position (deduped by job
 * id, and by the indexer's create-by-id), and never moves the watermark past what was queued.
 */

/** Lowers collectedFrom over completed backfill windows that touch it (repeated until nothing changes). */
const LOWER_COLLECTED_FROM = `
local function lowerCollectedFrom(sourceKey, doneKey)
  local cf = tonumber(redis.call('HGET', sourceKey, 'collectedFrom') or '')
  if not cf then return end
  local changed = true
  while changed do
    changed = false
    local members = redis.call('ZRANGEBYSCORE', doneKey, cf - 1, '+inf')
    for _, m in ipairs(members) do
      local o = tonumber(string.match(m, '^(%d+)-'))
      if o and o < cf then cf = o changed = true end
    end
  end
  redis.call('HSET', sourceKey, 'collectedFrom', cf)
end
`;

const FINISH_LIVE = `${LOWER_COLLECTED_FROM}
local cur = redis.call('HGET', KEYS[2], 'windowId')
if cur and cur ~= ARGV[1] then return -1 end
local latest = tonumber(ARGV[2])
local w = tonumber(redis.call('HGET', KEYS[1], 'watermark') or '')
if (not w) or latest > w then redis.call('HSET', KEYS[1], 'watermark', latest) w = latest end
if not redis.call('HGET', KEYS[1], 'collectedFrom') then
  redis.call('HSET', KEYS[1], 'collectedFrom', ARGV[3])
  lowerCollectedFrom(KEYS[1], KEYS[3])
end
redis.call('HSET', KEYS[1], 'lastSuccessAt', ARGV[4])
redis.call('DEL', KEYS[2])
return w
`;

const FINISH_BACKFILL = `${LOWER_COLLECTED_FROM}
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[6])
redis.call('ZADD', KEYS[4], tonumber(ARGV[3]), ARGV[2] .. '-' .. ARGV[3])
redis.call('HSET', KEYS[2], 'lastBackfillAt', ARGV[5])
lowerCollectedFrom(KEYS[2], KEYS[4])
return 1
`;

/** Save window progress and raise newestEventAt (never lower it), in one step. */
const SAVE_PROGRESS = `
local newest = tonumber(ARGV[1])
if newest and newest > 0 then
  local cur = tonumber(redis.call('HGET', KEYS[2], 'newestEventAt') or '0') or 0
  if newest > cur then redis.call('HSET', KEYS[2], 'newestEventAt', newest) end
end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
`;

const windowHash = z.object({
  windowId: z.string().min(1),
  sourceId: z.string().min(1),
  kind: z.enum(['live', 'rescan', 'backfill']),
  oldest: z.coerce.number().int(),
  latest: z.coerce.number().int(),
  cursor: z.string().default(''),
  page: z.coerce.number().int().min(0),
  attempts: z.coerce.number().int().min(0).default(0),
  restarts: z.coerce.number().int().min(0).default(0),
  events: z.coerce.number().int().min(0).default(0),
  startedAt: z.coerce.number().default(0),
  updatedAt: z.coerce.number().default(0),
});

export interface RescanRun extends TimeWindow {
  /** The run's whole range; windows inside it are read oldest first. */
  runFrom: number;
  runTo: number;
}

export interface StoredProblem {
  code: string;
  message: string;
  /** Unix ms. */
  at: number;
}

export class SourceStore {
  readonly keys: CollectKeys;

  constructor(
    readonly redis: Redis,
    config: Pick<Config, 'namespace' | 'redis'>,
    readonly sourceId: string,
  ) {
    this.keys = collectKeys(config, sourceId);
  }

  windowKey(kind: WindowKind, windowId: string): string {
    if (kind === 'live') return this.keys.liveWindow;
    if (kind === 'rescan') return this.keys.rescanWindow;
    return this.keys.backfillWindow(windowId);
  }

  async watermark(): Promise<number | null> {
    return toInt(await this.redis.hget(this.keys.source, 'watermark'));
  }

  async getFields(...fields: string[]): Promise<Record<string, string | null>> {
    const values = await this.redis.hmget(this.keys.source, ...fields);
    return Object.fromEntries(fields.map((f, i) => [f, values[i] ?? null]));
  }

  async loadWindow(key: string): Promise<WindowRecord | null> {
    const h = await this.redis.hgetall(key);
    if (Object.keys(h).length === 0) return null;
    const parsed = windowHash.safeParse(h);
    // A record we cannot read is dropped: the window is re-planned from the watermark (safe, only costs budget).
    if (!parsed.success) return null;
    return parsed.data;
  }

  async loadRescanRun(): Promise<(WindowRecord & RescanRun) | null> {
    const rec = await this.loadWindow(this.keys.rescanWindow);
    if (rec === null) return null;
    const [from, to] = await this.redis.hmget(this.keys.rescanWindow, 'runFrom', 'runTo');
    const runFrom = toInt(from ?? null);
    const runTo = toInt(to ?? null);
    if (runFrom === null || runTo === null) return null;
    return { ...rec, runFrom, runTo };
  }

  /** Create (or replace) a window record. `extra` holds kind-specific fields (re-scan run bounds). */
  async createWindow(key: string, rec: WindowRecord, extra: Record<string, string | number> = {}): Promise<void> {
    const flat = { ...recordFields(rec), ...extra };
    await this.redis.multi().del(key).hset(key, flat).exec();
  }

  async saveProgress(key: string, rec: WindowRecord, newestEventAt: number | null): Promise<void> {
    const args = Object.entries(recordFields(rec)).flat();
    await this.redis.eval(SAVE_PROGRESS, 2, key, this.keys.source, String(newestEventAt ?? 0), ...args);
  }

  /** Raise newestEventAt (never lowers it). */
  async raiseNewest(newestEventAt: number): Promise<void> {
    await this.redis.eval(SAVE_PROGRESS, 2, this.keys.liveWindow, this.keys.source, String(newestEventAt));
  }

  /** First page number of a window id that already ran (re-scan / backfill repeats); 0 otherwise. */
  async pageBase(windowId: string): Promise<number> {
    return toInt(await this.redis.get(this.keys.pageBase(windowId))) ?? 0;
  }

  async rememberPageBase(windowId: string, nextPage: number, ttlSeconds = 8 * 86400): Promise<void> {
    await this.redis.set(this.keys.pageBase(windowId), String(nextPage), 'EX', ttlSeconds);
  }

  /** The live window's last page is queued: watermark = max(watermark, latest), atomically with dropping the record. */
  async finishLive(rec: WindowRecord, nowMs: number): Promise<number> {
    return Number(await this.redis.eval(FINISH_LIVE, 3, this.keys.source, this.keys.liveWindow, this.keys.backfillDone, rec.windowId, rec.latest, rec.oldest, nowMs));
  }

  async finishBackfill(rec: WindowRecord, nowMs: number): Promise<void> {
    const entry = JSON.stringify({ oldest: rec.oldest, latest: rec.latest, status: 'done', events: rec.events, doneAt: nowMs });
    await this.redis.eval(FINISH_BACKFILL, 4, this.keys.backfillWindow(rec.windowId), this.keys.source, this.keys.backfillPlan, this.keys.backfillDone, rec.windowId, rec.oldest, rec.latest, rec.events, nowMs, entry);
  }

  async dropWindow(key: string): Promise<void> {
    await this.redis.del(key);
  }

  async setFields(fields: Record<string, string | number>): Promise<void> {
    await this.redis.hset(this.keys.source, fields);
  }

  async recordError(code: string, message: string, nowMs: number): Promise<void> {
    const p: StoredProblem = { code, message: scrubString(message), at: nowMs };
    await this.redis.hset(this.keys.source, 'lastError', JSON.stringify(p));
  }

  async recordFatal(code: string, message: string, nowMs: number, fingerprint: string): Promise<void> {
    const p = { code, message: scrubString(message), at: nowMs, fingerprint };
    await this.redis.hset(this.keys.source, { lastError: JSON.stringify(p), fatal: JSON.stringify(p) });
  }

  async fatal(): Promise<(StoredProblem & { fingerprint?: string }) | null> {
    return parseProblem(await this.redis.hget(this.keys.source, 'fatal'));
  }

  async clearFatal(): Promise<void> {
    await this.redis.hdel(this.keys.source, 'fatal');
  }
}

function recordFields(rec: WindowRecord): Record<string, string> {
  return {
    windowId: rec.windowId,
    sourceId: rec.sourceId,
    kind: rec.kind,
    oldest: String(rec.oldest),
    latest: String(rec.latest),
    cursor: rec.cursor,
    page: String(rec.page),
    attempts: String(rec.attempts),
    restarts: String(rec.restarts),
    events: String(rec.events),
    startedAt: String(rec.startedAt),
    updatedAt: String(rec.updatedAt),
  };
}

export function toInt(v: string | null | undefined): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? Math.floor(n) : null;
}

const problemSchema = z.object({ code: z.string(), message: z.string(), at: z.number(), fingerprint: z.string().optional() }).loose();

export function parseProblem(raw: string | null | undefined): (StoredProblem & { fingerprint?: string }) | null {
  if (raw === null || raw === undefined || raw === '') return null;
  try {
    const p = problemSchema.safeParse(JSON.parse(raw));
    if (!p.success) return null;
    const out: StoredProblem & { fingerprint?: string } = { code: p.data.code, message: p.data.message, at: p.data.at };
    if (p.data.fingerprint !== undefined) out.fingerprint = p.data.fingerprint;
    return out;
  } catch {
    return null;
  }
}
