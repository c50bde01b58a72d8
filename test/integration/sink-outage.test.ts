import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { names } from '../../src/config/load.js';
import { SlackAuditError } from '../../src/errors.js';
import { createEnrichers } from '../../src/normalize/enrich.js';
import { createLogger } from '../../src/observe/logger.js';
import type { IngestJobV1 } from '../../src/queue/jobs.js';
import { BulkWriter } from '../../src/sink/bulk-writer.js';
import { createEsClient } from '../../src/sink/es-client.js';
import { processIngestJob } from '../../src/sink/ingest-batch.js';
import { installTemplates, removeLayout } from '../../src/sink/templates.js';
import { ELASTICSEARCH_URL, testConfig } from '../helpers/env.js';
import { CuttableProxy } from '../helpers/tcp-proxy.js';

/**
 * "Stop ES mid-batch, restart it, nothing is lost", without stopping the shared ES: the writer talks to ES
 * through a TCP proxy this test owns, which is cut while the batch is being written and restored later.
 */

const esUrl = new URL(ELASTICSEARCH_URL);
const proxy = new CuttableProxy({ host: esUrl.hostname, port: Number(esUrl.port || 9200) });
const config = testConfig({}, 'sink_outage');
const direct = createEsClient(config);
const log = createLogger({ level: 'silent' });
const enrichers = createEnrichers({ enabled: false });
const n = names(config);

const ENTRIES = Array.from({ length: 20 }, (_, i) => ({
  id: `outage-${String(i).padStart(2, '0')}`,
  date_create: 1706745600 + i * 86400 * 3, // spans February and March 2024
  action: 'file_downloaded',
  actor: { type: 'user', user: { id: 'W1', email: 'a@example.com' } },
  entity: { type: 'file', file: { id: `F${i}`, name: `f${i}.pdf` } },
  context: { ip_address: '198.51.100.1', ua: 'Mozilla/5.0' },
}));
const job: IngestJobV1 = { v: 1, sourceId: 'acme', kind: 'live', windowId: 'live:1-2', page: 0, chunk: 0, fetchedAt: Date.now(), entries: ENTRIES };

beforeAll(async () => {
  await installTemplates(direct, config);
  await proxy.start();
});

afterAll(async () => {
  proxy.cut();
  await removeLayout(direct, config);
  await direct.close();
});

// The proxy recognizes bulk requests by reading them, which TLS prevents: the secured-ES pass skips this test
// (it always runs in the main pass; the indexer-worker outage test runs in both).
describe.skipIf(ELASTICSEARCH_URL.startsWith('https:'))('sink: Elasticsearch outage in the middle of a batch', () => {
  it('fails the job retryably, then completes after recovery with every event present exactly once', async () => {
    const viaProxy = createEsClient({ ...config, elasticsearch: { ...config.elasticsearch, url: `${esUrl.protocol}//127.0.0.1:${proxy.port}`, requestTimeoutMs: 5000 } });
    // Five docs per request, one request at a time: the second request is cut while in flight.
    const writer = new BulkWriter(viaProxy, { maxDocs: 5, maxBytes: 5 * 1024 * 1024, concurrency: 1, maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 100, refresh: 'wait_for' });
    proxy.cutOnBulk = 2;
    const deps = { es: viaProxy, config, log, enrichers, writer };

    const failure = await processIngestJob(job, deps).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(SlackAuditError);
    expect(failure).toMatchObject({ code: 'SLACK_AUDIT_ES_UNAVAILABLE', retryable: true });
    await direct.indices.refresh({ index: n.eventsAlias });
    const partial = await direct.count({ index: n.eventsAlias });
    expect(partial.count).toBe(5); // the first request made it before the cut

    // Still down: the retry fails the same way, nothing changes.
    await expect(processIngestJob(job, deps)).rejects.toMatchObject({ code: 'SLACK_AUDIT_ES_UNAVAILABLE', retryable: true });

    await proxy.restore();
    const r = await processIngestJob(job, deps);
    expect(r).toMatchObject({ indexed: 15, duplicates: 5, deadLettered: 0 });
    expect(r.docs).toHaveLength(20);

    await direct.indices.refresh({ index: n.eventsAlias });
    const res = await direct.search({ index: n.eventsAlias, size: 0, aggs: { ids: { terms: { field: 'event.id', size: 100 } } } });
    const buckets = (res.aggregations?.ids as { buckets: { key: string; doc_count: number }[] }).buckets;
    expect(buckets.map((b) => b.key).sort()).toEqual(ENTRIES.map((e) => e.id));
    expect(buckets.every((b) => b.doc_count === 1)).toBe(true);
    await viaProxy.close();
  });
});
