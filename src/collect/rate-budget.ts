import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import { collectKeys, type CollectKeys } from './keys.js';
import { sleep } from './sleep.js';

/**
 * Org-wide Slack request budget for one source, in Redis, shared by live polling, re-scan, backfill and every
 * replica (../shared/slack-api.md §1.9: the Audit Logs limit is per ORG, ~50/min for all apps together).
 *
 * One Lua script decides atomically, on Redis' clock (replicas' clocks may disagree):
 *  - no request while the source is paused by a 429 (`pausedUntil`, Unix ms): Retry-After is never ignored;
 *  - at most one request in flight per source, so a 429 is recorded as a pause BEFORE anyone sends the next
 *    request (otherwise a second replica could fire inside the announced Retry-After window);
 *  - at most `rateBudgetPerMinute` requests per rolling minute (sliding log in a sorted set);
 *  - low priority work (re-scan, backfill) leaves a reserve for live polling and yields while a live request waits.
 */

export type BudgetPriority = 'live' | 'low';

export interface BudgetLease {
  token: string;
}

export type AcquireResult = { ok: true; lease: BudgetLease } | { ok: false; waitMs: number; reason: 'paused' | 'busy' | 'budget' | 'live-first' };

const WINDOW_MS = 60_000;
/** Safety margin added to every Retry-After (our clock and the server's never agree to the millisecond). */
const PAUSE_MARGIN_MS = 500;

const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local low = ARGV[3] == '1'
local paused = tonumber(redis.call('HGET', KEYS[2], 'pausedUntil') or '0') or 0
if paused > now then return {0, paused - now, 'paused'} end
if redis.call('EXISTS', KEYS[3]) == 1 then
  if not low then redis.call('SET', KEYS[4], '1', 'PX', 2000) end
  return {0, 25, 'busy'}
end
if low and redis.call('EXISTS', KEYS[4]) == 1 then return {0, 250, 'live-first'} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ${WINDOW_MS})
local n = redis.call('ZCARD', KEYS[1])
if n >= cap then
  local wait = ${WINDOW_MS}
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if first[2] then wait = tonumber(first[2]) + ${WINDOW_MS} - now end
  if not low then redis.call('SET', KEYS[4], '1', 'PX', 2000) end
  return {0, math.max(wait, 1), 'budget'}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], ${WINDOW_MS})
redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[5])
if not low then redis.call('DEL', KEYS[4]) end
redis.call('HSET', KEYS[2], 'rateBudgetUsed', n + 1, 'rateBudgetLimit', limit, 'lastRequestAt', now)
return {1, 0, 'ok'}
`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
local cur = tonumber(redis.call('HGET', KEYS[1], 'pausedUntil') or '0') or 0
if untilMs > cur then redis.call('HSET', KEYS[1], 'pausedUntil', untilMs) return untilMs end
return cur
`;

const USAGE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = redis.call('ZCOUNT', KEYS[1], now - ${WINDOW_MS} + 1, '+inf')
return {n, now}
`;

export interface RateBudgetOptions {
  /** Requests per rolling minute for this source. */
  perMinute: number;
  /** Share of the budget low-priority work may NOT use (kept for live polling). */
  lowPriorityReserveFraction: number;
  /** TTL of the in-flight request marker (> the HTTP timeout, so a crashed replica cannot block the source). */
  requestTtlMs: number;
}

export class RateBudget {
  private readonly keys: CollectKeys;

  constructor(
    private readonly redis: Redis,
    config: Pick<Config, 'namespace' | 'redis'>,
    readonly sourceId: string,
    private readonly opts: RateBudgetOptions,
  ) {
    this.keys = collectKeys(config, sourceId);
  }

  static forSource(redis: Redis, config: Config, source: { id: string; rateBudgetPerMinute: number }): RateBudget {
    return new RateBudget(redis, config, source.id, {
      perMinute: source.rateBudgetPerMinute,
      lowPriorityReserveFraction: config.collector.lowPriorityReserveFraction,
      requestTtlMs: config.collector.httpTimeoutMs + 5000,
    });
  }

  /** The most requests per minute a priority may use. Low priority keeps a reserve (at least 1) for live. */
  capFor(priority: BudgetPriority): number {
    if (priority === 'live') return this.opts.perMinute;
    const reserve = Math.max(1, Math.ceil(this.opts.perMinute * this.opts.lowPriorityReserveFraction));
    return Math.max(1, this.opts.perMinute - reserve);
  }

  async tryAcquire(priority: BudgetPriority): Promise<AcquireResult> {
    const token = `${Date.now()}-${randomBytes(6).toString('hex')}`;
    const k = this.keys;
    const raw = (await this.redis.eval(ACQUIRE, 4, k.rate, k.source, k.request, k.liveWaiting, this.opts.perMinute, this.capFor(priority), priority === 'low' ? '1' : '0', token, this.opts.requestTtlMs)) as [number, number, string];
    if (raw[0] === 1) return { ok: true, lease: { token } };
    return { ok: false, waitMs: raw[1], reason: raw[2] as 'paused' | 'busy' | 'budget' | 'live-first' };
  }

  /**
   * Wait until a request may be sent. `onWait` is told why (for logs/metrics); `maxWaitMs` bounds the wait, after
   * which null is returned so the caller can give the job back and keep its window position.
   */
  async acquire(priority: BudgetPriority, signal: AbortSignal, maxWaitMs = Infinity, onWait?: (reason: string, waitMs: number) => void): Promise<BudgetLease | null> {
    const started = Date.now();
    for (;;) {
      if (signal.aborted) return null;
      const r = await this.tryAcquire(priority);
      if (r.ok) return r.lease;
      onWait?.(r.reason, r.waitMs);
      const left = maxWaitMs - (Date.now() - started);
      if (left <= 0) return null;
      // A pause is slept in one go (close() aborts the sleep); budget waits are re-checked at least every second.
      await sleep(Math.min(r.waitMs, left, r.reason === 'paused' ? r.waitMs : 1000), signal);
    }
  }

  async release(lease: BudgetLease): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.keys.request, lease.token);
  }

  /** A 429: no request for this source (from any replica) before now + Retry-After. Returns pausedUntil (Unix ms). */
  async pause(retryAfterSeconds: number): Promise<number> {
    const ms = Math.max(0, retryAfterSeconds) * 1000 + PAUSE_MARGIN_MS;
    return Number(await this.redis.eval(PAUSE, 1, this.keys.source, ms));
  }

  /** Requests in the current rolling minute. */
  async used(): Promise<number> {
    const raw = (await this.redis.eval(USAGE, 1, this.keys.rate)) as [number, number];
    return raw[0];
  }
}
