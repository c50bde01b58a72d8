import type { Redis } from 'ioredis';

/**
 * Guard-rail state in Redis, changed atomically by one Lua script per action:
 * - `<p>:respond:act:<key>`      hash: state (intent|done), intentAt, outcome, outcomeAt, detail
 * - `<p>:respond:cooldown:<user>` the key of the action that last acted on the user (PX cooldown)
 * - `<p>:respond:cap`             sorted set of action keys by time: the global per-hour circuit breaker
 * - `<p>:respond:slack-reset:<user>` Slack's own anomaly response reset this user (set by the rules worker)
 *
 * The script checks cooldown and cap and records the intent in the same step, so two workers can never
 * both pass the guard for one user, and the intent exists BEFORE Slack is called. A retry of the same
 * action (same key) is not blocked by its own cooldown or cap entry.
 */
const GUARD_LUA = `
local st = redis.call('HGET', KEYS[1], 'state')
if st == 'intent' then return 'intent' end
if st == 'done' then return 'done' end
local cd = redis.call('GET', KEYS[2])
if cd and cd ~= ARGV[1] then return 'cooldown' end
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 3600000)
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then return 'cap' end
  redis.call('ZADD', KEYS[3], now, ARGV[1])
end
redis.call('PEXPIRE', KEYS[3], 3600000)
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3]) end
redis.call('HSET', KEYS[1], 'state', 'intent', 'intentAt', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 'ok'
`;

export type GuardVerdict = 'ok' | 'intent' | 'done' | 'cooldown' | 'cap';

export interface ActionRecordState {
  state?: 'intent' | 'done';
  intentAt?: number;
  outcome?: string;
  detail?: Record<string, unknown>;
}

type GuardRedis = Redis & {
  respondGuard(record: string, cooldown: string, cap: string, key: string, now: number, cooldownMs: number, maxPerHour: number, ttlMs: number): Promise<string>;
};

export const RECORD_TTL_MS = 30 * 86_400_000;

export class GuardStore {
  private readonly redis: GuardRedis;
  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    if (!('respondGuard' in redis)) redis.defineCommand('respondGuard', { numberOfKeys: 3, lua: GUARD_LUA });
    this.redis = redis as GuardRedis;
  }

  recordKey(key: string): string {
    return `${this.prefix}:respond:act:${key}`;
  }
  cooldownKey(userId: string): string {
    return `${this.prefix}:respond:cooldown:${userId}`;
  }
  capKey(): string {
    return `${this.prefix}:respond:cap`;
  }
  slackResetKey(userId: string): string {
    return `${this.prefix}:respond:slack-reset:${userId}`;
  }

  async read(key: string): Promise<ActionRecordState> {
    const h = await this.redis.hgetall(this.recordKey(key));
    const out: ActionRecordState = {};
    if (h.state === 'intent' || h.state === 'done') out.state = h.state;
    if (h.intentAt) out.intentAt = Number(h.intentAt);
    if (h.outcome) out.outcome = h.outcome;
    if (h.detail) {
      try {
        const parsed: unknown = JSON.parse(h.detail);
        if (parsed && typeof parsed === 'object') out.detail = parsed as Record<string, unknown>;
      } catch {
        /* a corrupt detail is not worth failing an action over */
      }
    }
    return out;
  }

  /** Check cooldown + cap and record the intent, atomically. */
  async acquire(key: string, userId: string, now: number, cooldownMs: number, maxPerHour: number): Promise<GuardVerdict> {
    const v = await this.redis.respondGuard(this.recordKey(key), this.cooldownKey(userId), this.capKey(), key, now, Math.round(cooldownMs), maxPerHour, RECORD_TTL_MS);
    return v as GuardVerdict;
  }

  /** Slack answered "rate limited": nothing happened, so the retry may call again without reconciling. */
  async releaseIntent(key: string): Promise<void> {
    await this.redis.hdel(this.recordKey(key), 'state', 'intentAt');
  }

  async finish(key: string, outcome: string, now: number, detail: Record<string, unknown> = {}): Promise<void> {
    const rk = this.recordKey(key);
    await this.redis.multi().hset(rk, 'state', 'done', 'outcome', outcome, 'outcomeAt', String(now), 'detail', JSON.stringify(detail)).pexpire(rk, RECORD_TTL_MS).exec();
  }

  /** Called by the rules worker on `user_sessions_reset_by_anomaly_event_response`. */
  async markSlackReset(userId: string, eventTimeMs: number, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return;
    await this.redis.set(this.slackResetKey(userId), String(eventTimeMs), 'PX', Math.round(ttlMs));
  }

  async slackResetAt(userId: string): Promise<number | undefined> {
    const v = await this.redis.get(this.slackResetKey(userId));
    return v === null ? undefined : Number(v);
  }
}
