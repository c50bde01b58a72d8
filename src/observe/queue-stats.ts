/**
 * Queue depths per BullMQ queue, for `status` and the queue-depth gauge. Read-only: it never creates or
 * changes a job, so it is safe to run against a production Redis.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import { bullPrefix } from '../queue/connection.js';
import { QUEUES, type QueueName } from '../queue/jobs.js';
import type { Logger } from './logger.js';
import { metrics } from './metrics.js';

export interface QueueCounts {
  /** Jobs ready to run: BullMQ's wait + prioritized lists (BullMQ 6 has no separate paused list). */
  waiting: number;
  active: number;
  failed: number;
  delayed: number;
  completed: number;
}

const COUNT_KEYS = ['waiting', 'active', 'failed', 'delayed', 'completed'] as const satisfies readonly (keyof QueueCounts)[];

export type QueueStats = Record<QueueName, QueueCounts>;

const STATES = ['wait', 'prioritized', 'active', 'failed', 'delayed', 'completed'] as const;

export async function queueStats(config: Pick<Config, 'redis' | 'namespace'>, connection: Redis): Promise<QueueStats> {
  const prefix = bullPrefix(config);
  const names = Object.values(QUEUES);
  const entries = await Promise.all(
    names.map(async (name): Promise<[QueueName, QueueCounts]> => {
      // A Queue over a shared ioredis connection does not close that connection on close(); skipMetasUpdate
      // keeps this read-only (a Queue otherwise writes its meta hash on start).
      const queue = new Queue(name, { connection, prefix, skipMetasUpdate: true });
      try {
        const c = await queue.getJobCounts(...STATES);
        const n = (k: (typeof STATES)[number]) => c[k] ?? 0;
        return [name, { waiting: n('wait') + n('prioritized'), active: n('active'), failed: n('failed'), delayed: n('delayed'), completed: n('completed') }];
      } finally {
        await queue.close();
      }
    }),
  );
  return Object.fromEntries(entries) as QueueStats;
}

export interface QueueGauges {
  stop(): void;
  /** Resolves after one refresh (tests, and the first scrape after start). */
  refresh(): Promise<void>;
}

/** Refresh `slack_audit_queue_depth{queue,state}` every `intervalMs` (default 5 s). Errors are logged, not thrown. */
export function startQueueGauges(
  config: Pick<Config, 'redis' | 'namespace'>,
  connection: Redis,
  opts: { intervalMs?: number; log?: Pick<Logger, 'warn'> } = {},
): QueueGauges {
  let running: Promise<void> | undefined;
  const refresh = (): Promise<void> => {
    running ??= (async () => {
      try {
        const stats = await queueStats(config, connection);
        for (const [queue, counts] of Object.entries(stats)) {
          for (const state of COUNT_KEYS) metrics.queueDepth.set({ queue, state }, counts[state]);
        }
      } catch (err) {
        opts.log?.warn({ err }, 'queue depth refresh failed');
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const timer = setInterval(() => void refresh(), opts.intervalMs ?? 5_000);
  timer.unref();
  void refresh();
  return {
    stop: () => {
      clearInterval(timer);
    },
    refresh,
  };
}
