import type { Redis } from 'ioredis';
import {
  NEW_VALUE_CAP,
  OCCURRENCE_CAP,
  type NewValueCheck,
  type NewValueResult,
  type Occurrence,
  type OccurrenceRange,
  type OccurrenceWrite,
  type RuleState,
} from './state.js';

/**
 * Rule state in Redis. Occurrences are sorted sets keyed per rule + step + group, member = event id, score =
 * event time (ms): ZADD of the same event twice is a no-op, so re-delivery never double-counts. Each key is
 * trimmed by event time (window + lateness grace behind the newest write) and capped by rank, and carries a
 * TTL, so memory stays bounded. New values are a sorted set (value -> last seen) plus a hash (value -> the
 * event that introduced it), updated atomically by one Lua script. Every batch costs a single pipeline per phase.
 */

/** KEYS: zset, hash, origin (the group's first event). ARGV: value, ts, eventId, lookbackMs, cap, ttlMs. Returns {isNew, hadHistory}. */
const NEW_VALUE_LUA = `
local v = ARGV[1]
local ts = tonumber(ARGV[2])
local eid = ARGV[3]
local lb = tonumber(ARGV[4])
local cap = tonumber(ARGV[5])
local ttl = tonumber(ARGV[6])
local origin = redis.call('GET', KEYS[3])
if not origin then
  redis.call('SET', KEYS[3], eid)
  origin = eid
end
local first = redis.call('HGET', KEYS[2], v)
if first then
  local fid, flag = string.match(first, '^(.*)|(%d)$')
  if fid == eid then
    return {1, tonumber(flag)}
  end
end
local last = redis.call('ZSCORE', KEYS[1], v)
local res
if (not last) or tonumber(last) < ts - lb then
  -- History means an earlier event of the group, not another value of this same event.
  local alertable = 0
  if origin ~= eid then alertable = 1 end
  redis.call('HSET', KEYS[2], v, eid .. '|' .. alertable)
  if (not last) or tonumber(last) < ts then redis.call('ZADD', KEYS[1], ts, v) end
  res = {1, alertable}
else
  if tonumber(last) < ts then redis.call('ZADD', KEYS[1], ts, v) end
  res = {0, 1}
end
local n = redis.call('ZCARD', KEYS[1])
if n > cap then
  local old = redis.call('ZRANGE', KEYS[1], 0, n - cap - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - cap - 1)
  for _, m in ipairs(old) do redis.call('HDEL', KEYS[2], m) end
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('PEXPIRE', KEYS[3], ttl)
return res
`;

type RedisWithNewValue = Redis & {
  ruleNewValue(zset: string, hash: string, origin: string, value: string, ts: number, eventId: string, lookbackMs: number, cap: number, ttlMs: number): Promise<[number, number]>;
};

export interface RedisRuleStateOptions {
  /** `names(config).redisPrefix`; keys become `<prefix>:rules:<logical key>`. */
  prefix: string;
  /** Wall-clock TTL added on top of each key's event-time retention. */
  ttlSlackMs?: number;
}

export class RedisRuleState implements RuleState {
  private readonly redis: RedisWithNewValue;
  private readonly prefix: string;
  private readonly ttlSlackMs: number;

  constructor(redis: Redis, options: RedisRuleStateOptions) {
    if (!('ruleNewValue' in redis)) redis.defineCommand('ruleNewValue', { numberOfKeys: 3, lua: NEW_VALUE_LUA });
    this.redis = redis as RedisWithNewValue;
    this.prefix = `${options.prefix}:rules:`;
    this.ttlSlackMs = options.ttlSlackMs ?? 3_600_000;
  }

  key(logical: string): string {
    return this.prefix + logical;
  }

  async addOccurrences(writes: readonly OccurrenceWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const perKey = new Map<string, { maxTs: number; retentionMs: number }>();
    const pipe = this.redis.pipeline();
    for (const w of writes) {
      const key = this.key(w.key);
      pipe.zadd(key, w.ts, w.member);
      const cur = perKey.get(key);
      if (!cur || w.ts > cur.maxTs) perKey.set(key, { maxTs: w.ts, retentionMs: w.retentionMs });
    }
    for (const [key, { maxTs, retentionMs }] of perKey) {
      // Trim behind the newest event of this batch only: a late (older) batch never evicts newer members.
      pipe.zremrangebyscore(key, '-inf', `(${maxTs - retentionMs}`);
      pipe.zremrangebyrank(key, 0, -(OCCURRENCE_CAP + 1));
      pipe.pexpire(key, retentionMs + this.ttlSlackMs);
    }
    await execOrThrow(pipe);
  }

  async rangeOccurrences(ranges: readonly OccurrenceRange[]): Promise<Occurrence[][]> {
    if (ranges.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const r of ranges) pipe.zrangebyscore(this.key(r.key), r.from, r.to, 'WITHSCORES', 'LIMIT', 0, OCCURRENCE_CAP);
    const results = await execOrThrow(pipe);
    return results.map((flat) => {
      const list = Array.isArray(flat) ? (flat as string[]) : [];
      const out: Occurrence[] = [];
      for (let i = 0; i + 1 < list.length; i += 2) out.push({ member: list[i] as string, ts: Number(list[i + 1]) });
      return out;
    });
  }

  async checkNewValues(checks: readonly NewValueCheck[]): Promise<NewValueResult[]> {
    if (checks.length === 0) return [];
    // One pipeline; Redis runs the scripts in order, so two sightings in a batch see each other.
    const pipe = this.redis.pipeline() as ReturnType<Redis['pipeline']> & {
      ruleNewValue(...args: (string | number)[]): unknown;
    };
    for (const c of checks) {
      const key = this.key(c.key);
      pipe.ruleNewValue(key, `${key}:first`, `${key}:origin`, c.value, c.ts, c.eventId, c.lookbackMs, NEW_VALUE_CAP, c.lookbackMs + this.ttlSlackMs);
    }
    const results = await execOrThrow(pipe);
    return results.map((r) => {
      const [isNew, hadHistory] = Array.isArray(r) ? (r as number[]) : [0, 1];
      return { isNew: isNew === 1, hadHistory: hadHistory === 1 };
    });
  }
}

async function execOrThrow(pipe: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const res = await pipe.exec();
  if (!res) throw new Error('redis pipeline aborted');
  return res.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
