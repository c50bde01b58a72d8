/**
 * The ops server every `run` process exposes: /healthz (the process is alive), /readyz (Redis and ES answer,
 * config loaded) and /metrics (prom-client text). node:http only, loopback by default (config.metrics.host):
 * metrics name sources and rules, which is nobody's business outside the host unless the operator says so.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@elastic/elasticsearch';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { errorMessage } from '../errors.js';
import type { Logger } from './logger.js';
import { scrubString } from './secrets.js';

export interface ReadinessCheck {
  ok: boolean;
  error?: string;
}
export interface Readiness {
  ok: boolean;
  checks: Record<string, ReadinessCheck>;
}

export interface OpsServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  registry: Registry;
  ready: () => Promise<Readiness>;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
}

export interface OpsServer {
  /** Base URL, e.g. `http://127.0.0.1:9464`. */
  url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    switch (path) {
      case '/healthz':
        send(res, 200, 'application/json', JSON.stringify({ ok: true }) + '\n');
        return;
      case '/readyz': {
        let readiness: Readiness;
        try {
          readiness = await opts.ready();
        } catch (err) {
          readiness = { ok: false, checks: { ready: { ok: false, error: scrubString(errorMessage(err)) } } };
        }
        send(res, readiness.ok ? 200 : 503, 'application/json', JSON.stringify(readiness) + '\n');
        return;
      }
      case '/metrics': {
        const text = await opts.registry.metrics();
        send(res, 200, opts.registry.contentType, text);
        return;
      }
      default:
        send(res, 404, 'text/plain; charset=utf-8', 'not found: try /healthz, /readyz or /metrics\n');
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      opts.log.error({ err, path: req.url }, 'ops server request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });
  // Scrapers keep connections alive; do not let them hold a shutdown hostage.
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  opts.log.info({ url }, 'ops server listening (/healthz, /readyz, /metrics)');

  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => {
          if (err) reject(err);
          else resolve();
        });
        server.closeAllConnections();
      }),
  };
}

/** Race a promise against a timer so a hung dependency makes /readyz fail fast instead of hang. */
async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} did not answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function check(fn: () => Promise<void>): Promise<ReadinessCheck> {
  try {
    await fn();
    return { ok: true };
  } catch (err) {
    return { ok: false, error: scrubString(errorMessage(err)) };
  }
}

export interface ReadinessDeps {
  redis: Pick<Redis, 'ping'>;
  es: Pick<Client, 'cluster'>;
  configLoaded: boolean;
  timeoutMs?: number;
}

/**
 * Build the `ready` callback for startOpsServer: Redis PING and ES `_cluster/health` (our slim ES has no
 * `GET /`), each bounded by a short timeout. A red cluster is not ready; yellow is (single-node clusters are
 * always yellow when replicas > 0).
 */
export function readinessChecks(deps: ReadinessDeps): () => Promise<Readiness> {
  const timeoutMs = deps.timeoutMs ?? 2_000;
  return async () => {
    const [redis, elasticsearch] = await Promise.all([
      check(async () => {
        await withTimeout(deps.redis.ping(), timeoutMs, 'Redis');
      }),
      check(async () => {
        const health = await withTimeout(
          deps.es.cluster.health({ timeout: `${Math.max(1, Math.floor(timeoutMs / 1000))}s` }, { requestTimeout: timeoutMs, maxRetries: 0 }),
          timeoutMs + 500,
          'Elasticsearch',
        );
        if (health.status === 'red') throw new Error('Elasticsearch cluster health is red');
      }),
    ]);
    const config: ReadinessCheck = deps.configLoaded ? { ok: true } : { ok: false, error: 'config not loaded' };
    const checks = { config, redis, elasticsearch };
    return { ok: Object.values(checks).every((c) => c.ok), checks };
  };
}
