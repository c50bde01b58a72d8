import { createServer, request, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { names } from '../../src/config/load.js';
import { createEnrichers } from '../../src/normalize/enrich.js';
import { createLogger } from '../../src/observe/logger.js';
import type { IngestJobV1 } from '../../src/queue/jobs.js';
import { BulkWriter } from '../../src/sink/bulk-writer.js';
import { listDeadLetters } from '../../src/sink/dead-letter.js';
import { createEsClient } from '../../src/sink/es-client.js';
import { processIngestJob } from '../../src/sink/ingest-batch.js';
import { installTemplates, removeLayout } from '../../src/sink/templates.js';
import { ELASTICSEARCH_URL, testConfig } from '../helpers/env.js';

/**
 * Per-item pushback: an HTTP proxy in front of the real ES answers chosen `_bulk` requests itself with
 * item-level 429/503 statuses (what an overloaded cluster sends), and forwards everything else.
 */
class PushbackProxy {
  private server: Server | undefined;
  port = 0;
  /** Status to give every item of the next `remaining` bulk requests (then forward again). */
  itemStatus = 429;
  remaining = 0;
  bulkSeen = 0;

  async start(): Promise<void> {
    const target = new URL(ELASTICSEARCH_URL);
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if ((req.url ?? '').startsWith('/_bulk')) {
          this.bulkSeen++;
          if (this.remaining > 0) {
            this.remaining--;
            const lines = body.toString('utf8').split('\n').filter(Boolean);
            const items = [];
            for (let i = 0; i < lines.length; i += 2) {
              const action = JSON.parse(lines[i] as string) as { create: { _index: string; _id: string } };
              const type = this.itemStatus === 429 ? 'es_rejected_execution_exception' : 'unavailable_shards_exception';
              items.push({ create: { _index: action.create._index, _id: action.create._id, status: this.itemStatus, error: { type, reason: 'injected by test proxy' } } });
            }
            res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
            res.end(JSON.stringify({ took: 1, errors: true, items }));
            return;
          }
        }
        const up = request({ host: target.hostname, port: Number(target.port || 9200), method: req.method, path: req.url, headers: req.headers }, (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        });
        up.on('error', () => res.destroy());
        up.end(body);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    if (addr && typeof addr === 'object') this.port = addr.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    });
  }
}

const proxy = new PushbackProxy();
const config = testConfig({}, 'sink_retry');
const direct = createEsClient(config);
const log = createLogger({ level: 'silent' });
const enrichers = createEnrichers({ enabled: false });
let es: ReturnType<typeof createEsClient>;

const job = (prefix: string): IngestJobV1 => ({
  v: 1,
  sourceId: 'acme',
  kind: 'live',
  windowId: 'live:1-2',
  page: 0,
  chunk: 0,
  fetchedAt: Date.now(),
  entries: Array.from({ length: 8 }, (_, i) => ({ id: `${prefix}-${i}`, date_create: 1709251200 + i, action: 'user_login', actor: { type: 'user', user: { id: 'W1' } }, context: { ip_address: '198.51.100.1' } })),
});

async function count(prefix: string): Promise<number> {
  await direct.indices.refresh({ index: names(config).eventsAlias });
  return (await direct.count({ index: names(config).eventsAlias, query: { prefix: { 'event.id': `${prefix}-` } } })).count;
}

beforeAll(async () => {
  await installTemplates(direct, config);
  await proxy.start();
  es = createEsClient({ ...config, elasticsearch: { ...config.elasticsearch, url: `http://127.0.0.1:${proxy.port}` } });
});

afterAll(async () => {
  await es.close();
  await proxy.stop();
  await removeLayout(direct, config);
  await direct.close();
});

// This test rewrites bulk responses in a plain-HTTP proxy; it cannot sit inside TLS, so the secured-ES pass
// skips it (it always runs in the main pass against plain HTTP).
describe.skipIf(ELASTICSEARCH_URL.startsWith('https:'))('sink: 429 and 5xx items', () => {
  it('items refused with 429 are retried with backoff inside the call and then indexed', async () => {
    const writer = new BulkWriter(es, { maxDocs: 100, maxBytes: 1 << 20, concurrency: 1, maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 50 });
    proxy.itemStatus = 429;
    proxy.remaining = 2;
    const before = proxy.bulkSeen;
    const r = await processIngestJob(job('a'), { es, config, log, enrichers, writer });
    expect(r).toMatchObject({ indexed: 8, duplicates: 0, deadLettered: 0 });
    expect(proxy.bulkSeen - before).toBe(3);
    expect(await count('a')).toBe(8);
  });

  it('items still refused (503) after the in-call retries fail the job retryably; none is dead-lettered or lost', async () => {
    const writer = new BulkWriter(es, { maxDocs: 100, maxBytes: 1 << 20, concurrency: 1, maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 });
    proxy.itemStatus = 503;
    proxy.remaining = 3;
    await expect(processIngestJob(job('b'), { es, config, log, enrichers, writer })).rejects.toMatchObject({ code: 'SLACK_AUDIT_ES_UNAVAILABLE', retryable: true, details: { retryable: 8 } });
    expect(await count('b')).toBe(0);
    expect(await listDeadLetters(direct, config)).toEqual([]);
    // The queue's retry later: the cluster has recovered.
    const r = await processIngestJob(job('b'), { es, config, log, enrichers, writer });
    expect(r).toMatchObject({ indexed: 8, deadLettered: 0 });
    expect(await count('b')).toBe(8);
  });
});
