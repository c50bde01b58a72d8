import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * A Redis lock with a TTL, renewed while held. Belt and braces next to BullMQ's one-job-per-scheduler: if two
 * replicas ever run the same source's window (a stalled job re-run while the first is still alive), only the
 * lock holder fetches. Losing the lock (renewal failed) aborts `signal`, so the run stops at its next step.
 */
export class SourceLock {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private released = false;

  private constructor(
    private readonly redis: Redis,
    readonly key: string,
    private readonly token: string,
    private readonly ttlMs: number,
  ) {
    this.timer = setInterval(() => {
      void this.renew();
    }, Math.max(200, Math.floor(ttlMs / 3)));
    this.timer.unref();
  }

  static async acquire(redis: Redis, key: string, ttlMs: number): Promise<SourceLock | null> {
    const token = randomBytes(8).toString('hex');
    const ok = await redis.set(key, token, 'PX', ttlMs, 'NX');
    return ok === 'OK' ? new SourceLock(redis, key, token, ttlMs) : null;
  }

  /** Aborted when the lock is lost. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private async renew(): Promise<void> {
    if (this.released) return;
    try {
      const ok = Number(await this.redis.eval(RENEW, 1, this.key, this.token, this.ttlMs));
      if (ok !== 1) this.controller.abort(new Error(`lock ${this.key} lost`));
    } catch {
      // Redis unreachable: the TTL may run out; stop working rather than risk a second holder.
      this.controller.abort(new Error(`lock ${this.key} could not be renewed`));
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    try {
      await this.redis.eval(RELEASE, 1, this.key, this.token);
    } catch {
      // The TTL frees it.
    }
  }
}
