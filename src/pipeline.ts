import type { Config } from './config/schema.js';
import type { Logger } from './observe/logger.js';
import { registry } from './observe/metrics.js';
import { startOpsServer, readinessChecks } from './observe/http.js';
import { startQueueGauges } from './observe/queue-stats.js';
import { createRedis } from './queue/connection.js';
import { createEsClient } from './sink/es-client.js';
import { installTemplates } from './sink/templates.js';
import { startScheduler } from '../workers/scheduler.js';
import { startIndexer } from '../workers/indexer.js';
import { startRulesWorker } from '../workers/rules.js';

export const ROLES = ['scheduler', 'indexer', 'rules'] as const;
export type Role = (typeof ROLES)[number];

interface Closable {
  close(): Promise<void>;
}

export interface RunningPipeline {
  roles: Role[];
  opsUrl: string | undefined;
  /** Drain in-flight jobs (bounded by shutdownGraceSeconds) and release every connection. */
  stop(): Promise<void>;
  /** Resolve after SIGTERM/SIGINT has drained the roles; a second signal exits at once. */
  runUntilSignal(): Promise<void>;
}

/**
 * Start the requested roles in this process. Each role is independent (its own BullMQ workers and
 * connections), so `run --role indexer` on five machines and `run --role scheduler` on two is the
 * same code as `run` on a laptop.
 */
export async function startPipeline(config: Config, log: Logger, roles: Role[]): Promise<RunningPipeline> {
  const redis = createRedis(config, 'command');
  const es = createEsClient(config);
  if (roles.includes('indexer') || roles.includes('rules')) {
    // Templates first: an event written before its template exists would get dynamic mappings.
    await retryUntil(() => installTemplates(es, config), log, 'install Elasticsearch templates');
  }
  const started: { role: Role; handle: Closable }[] = [];
  for (const role of roles) {
    const handle = role === 'scheduler' ? await startScheduler(config, log) : role === 'indexer' ? await startIndexer(config, log) : await startRulesWorker(config, log);
    started.push({ role, handle });
    log.info({ role }, 'role started');
  }
  const gauges = startQueueGauges(config, redis);
  let ops: { url: string; close(): Promise<void> } | undefined;
  try {
    ops = await startOpsServer({ host: config.metrics.host, port: config.metrics.port, registry, ready: readinessChecks({ redis, es, configLoaded: true }), log });
    log.info({ url: ops.url }, 'health and metrics endpoints listening');
  } catch (err) {
    // Another role on this machine may hold the port; the pipeline itself must still run.
    log.warn({ err, port: config.metrics.port }, 'metrics/health server not started (use --metrics-port)');
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const deadline = config.shutdownGraceSeconds * 1000;
      log.info({ graceSeconds: config.shutdownGraceSeconds }, 'draining in-flight jobs');
      const drained = Promise.allSettled(started.map(async ({ role, handle }) => {
        await handle.close();
        log.info({ role }, 'role stopped');
      }));
      const timedOut = await Promise.race([drained.then(() => false), sleep(deadline).then(() => true)]);
      // Jobs still active after the deadline stay in Redis and are picked up again (stalled-job recovery).
      if (timedOut) log.warn('shutdown deadline reached; unfinished jobs will be retried by another worker');
      gauges.stop();
      await ops?.close();
      redis.disconnect();
      await es.close();
    })();
    return stopping;
  };

  return {
    roles,
    opsUrl: ops?.url,
    stop,
    runUntilSignal: () =>
      new Promise<void>((resolve) => {
        let signals = 0;
        const onSignal = (signal: NodeJS.Signals) => {
          signals += 1;
          if (signals > 1) {
            log.warn({ signal }, 'second signal: exiting now');
            process.exit(130);
          }
          log.info({ signal }, 'shutting down');
          void stop().then(resolve, (err: unknown) => {
            log.error({ err }, 'error while stopping');
            resolve();
          });
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      }),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

async function retryUntil(fn: () => Promise<unknown>, log: Logger, what: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await fn();
      return;
    } catch (err) {
      const wait = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
      log.warn({ err, attempt, waitMs: wait }, `${what} failed; retrying`);
      await sleep(wait);
    }
  }
}
