import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/schema.js';

/**
 * Redis connections. BullMQ workers need `maxRetriesPerRequest: null` (block until Redis is back instead of
 * failing commands during an outage); short-lived CLI commands use a bounded retry so they fail clearly.
 */
export function createRedis(config: Pick<Config, 'redis'>, kind: 'worker' | 'command' = 'worker', extra: RedisOptions = {}): Redis {
  return new Redis(config.redis.url, {
    maxRetriesPerRequest: kind === 'worker' ? null : 3,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(times * 200, 5000),
    lazyConnect: false,
    ...extra,
  });
}

/** BullMQ's own key prefix (separate from ours, so that `names().redisPrefix` keys never collide with queue keys). */
export function bullPrefix(config: Pick<Config, 'redis' | 'namespace'>): string {
  return `${config.redis.prefix}-bull:${config.namespace}`;
}

/** Delete every key matching a SCAN pattern (never KEYS: it blocks Redis); returns how many were removed. */
export async function deleteKeysMatching(redis: Redis, pattern: string): Promise<number> {
  let removed = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) removed += await redis.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}
