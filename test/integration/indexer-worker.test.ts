import { Queue, QueueEvents, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { names } from '../../src/config/load.js';
import { createLogger } from '../../src/observe/logger.js';
import { bullPrefix, createRedis } from '../../src/queue/connection.js';
import { QUEUES, ingestJobId, type IngestJobV1, type IngestJobV2, type RulesJobV1 } from '../../src/queue/jobs.js';
import { listDeadLetters } from '../../src/sink/dead-letter.js';
import { createEsClient } from '../../src/sink/es-client.js';
import { installTemplates, removeLayout } from '../../src/sink/templates.js';
import { FieldProjection } from '../../src/rules/projection.js';
import { documentsForRules } from '../../src/rules/rules-job.js';
import { startIndexer } from '../../workers/indexer.js';
import { ELASTICSEARCH_URL, testConfig } from '../helpers/env.js';
import { CuttableProxy } from '../helpers/tcp-proxy.js';

/** The indexer role end to end on real Redis + ES; ES reached through a proxy the test can cut. */
const esUrl = new URL(ELASTICSEARCH_URL);
const proxy = new CuttableProxy({ host: esUrl.hostname, port: Number(esUrl.port || 9200) });
const base = testConfig({ collector: { indexerConcurrency: 2 } }, 'indexer');
let config = base;
const direct = createEsClient(base);
const log = createLogger({ level: 'silent' });
const connection = createRedis(base, 'command');
const prefix = bullPrefix(base);
const ingest = new Queue(QUEUES.ingest, { connection, prefix });
const rules = new Queue<RulesJobV1>(QUEUES.rules, { connection, prefix });
const events = new QueueEvents(QUEUES.ingest, { connection: createRedis(base, 'worker'), prefix });
let indexer: { close(): Promise<void> } | undefined;

function entries(prefixId: string, count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefixId}-${i}`,
    date_create: 1767346140 + i,
    action: i % 2 ? 'anomaly' : 'user_login',
    actor: { type: 'user', user: { id: 'W1', email: 'a@example.com' } },
    entity: { type: 'user', user: { id: `W${i}`, email: `u${i}@example.com` } },
    context: { ip_address: '198.51.100.1', ua: 'Mozilla/5.0', session_id: 5 },
    details: i % 2 ? { reason: 'tor', action_timestamp: 1767346100000 } : undefined,
  }));
}

function payload(list: Record<string, unknown>[], page: number): IngestJobV1 {
  return { v: 1, sourceId: 'acme', kind: 'live', windowId: 'live:100-200', page, chunk: 0, fetchedAt: Date.now(), entries: list };
}

async function countIds(prefixId: string): Promise<number> {
  await direct.indices.refresh({ index: names(base).eventsAlias });
  const res = await direct.count({ index: names(base).eventsAlias, query: { prefix: { 'event.id': `${prefixId}-` } } });
  return res.count;
}

beforeAll(async () => {
  await installTemplates(direct, base);
  await proxy.start();
  config = { ...base, elasticsearch: { ...base.elasticsearch, url: `${esUrl.protocol}//127.0.0.1:${proxy.port}`, requestTimeoutMs: 5000 } };
  await events.waitUntilReady();
  indexer = await startIndexer(config, log, { retryBaseMs: 200, maxRetryDelayMs: 1000 });
});

afterAll(async () => {
  await indexer?.close();
  proxy.cut();
  await events.close();
  await ingest.obliterate({ force: true });
  await rules.obliterate({ force: true });
  await ingest.close();
  await rules.close();
  connection.disconnect();
  await removeLayout(direct, base);
  await direct.close();
});

describe('indexer worker', () => {
  it('indexes an ingest job and forwards its events to the rules queue under a deterministic job id', async () => {
    const id = ingestJobId('acme', 'live:100-200', 0, 0);
    const job = await ingest.add('ingest', payload(entries('a', 6), 0), { jobId: id });
    const result = (await job.waitUntilFinished(events, 30_000)) as { indexed: number; duplicates: number };
    expect(result).toMatchObject({ indexed: 6, duplicates: 0 });
    expect(await countIds('a')).toBe(6);
    const forwarded = await rules.getJob(`rules.${id}`);
    expect(forwarded?.data.v).toBe(1);
    expect(forwarded?.data.events).toHaveLength(6);
    const first = forwarded?.data.events[0] as { event: Record<string, unknown>; user: Record<string, unknown> };
    expect(first.event.original).toBeUndefined();
    expect(first.event.id).toBe('a-0');
    // Projected onto what the rule pack reads: the actor is there, fields no rule reads are not.
    expect(forwarded?.data.fields).toContain('user.target.id');
    expect(first.user.id).toBe('W1');
    expect(first.event.ingested).toBeUndefined();
  });

  it('a rules worker whose pack reads more than a job carries evaluates the whole documents from ES', async () => {
    const forwarded = await rules.getJob(`rules.${ingestJobId('acme', 'live:100-200', 0, 0)}`);
    const job = forwarded?.data as RulesJobV1;
    const deps = { es: direct, eventsAlias: names(base).eventsAlias, log };
    // Same pack as the indexer's: the job is used as it is.
    expect(await documentsForRules(job, deps)).toBe(job.events);
    // An indexer with an older pack projected onto fewer fields: the documents come back whole (minus event.original).
    const narrow = new FieldProjection(['@timestamp', 'event.id']);
    const old: RulesJobV1 = { ...job, fields: narrow.paths, events: job.events.map((d) => narrow.project(d)) };
    expect((old.events[0] as { event: Record<string, unknown> }).event.action).toBeUndefined();
    const docs = (await documentsForRules(old, deps)) as { event: Record<string, unknown>; user: Record<string, unknown> }[];
    expect(docs.map((d) => d.event.id)).toEqual(job.events.map((d) => (d as { event: { id: string } }).event.id));
    expect(docs[1]?.event.action).toBe('anomaly');
    expect(docs[0]?.user.id).toBe('W1');
    expect(docs[0]?.event.original).toBeUndefined();
  });

  it('a re-delivered page (new job, same entries) indexes nothing new but still forwards the events once', async () => {
    const job = await ingest.add('ingest', payload(entries('a', 6), 1), { jobId: ingestJobId('acme', 'live:100-200', 1, 0) });
    const result = (await job.waitUntilFinished(events, 30_000)) as { indexed: number; duplicates: number };
    expect(result).toMatchObject({ indexed: 0, duplicates: 6 });
    expect(await countIds('a')).toBe(6);
    expect(await rules.getJobCounts('waiting', 'delayed', 'completed', 'active', 'failed').then((c) => Object.values(c).reduce((x, y) => x + y, 0))).toBe(2);
  });

  it('an unknown payload version is dead-lettered, not crashed on', async () => {
    const job = await ingest.add('ingest', { v: 99, sourceId: 'acme', stuff: [1, 2] }, { jobId: 'ingest.future' });
    const result = (await job.waitUntilFinished(events, 30_000)) as { deadLettered: number };
    expect(result.deadLettered).toBe(1);
    const dlq = await listDeadLetters(direct, base);
    const rec = dlq.find((h) => h.record.dlq.kind === 'job');
    expect(rec?.record.dlq).toMatchObject({ stage: 'decode', reason: 'SLACK_AUDIT_JOB_INVALID', job_id: 'ingest.future', source_id: 'acme' });
    expect(JSON.parse(rec?.record.dlq.raw ?? '')).toEqual({ v: 99, sourceId: 'acme', stuff: [1, 2] });
  });

  it('while ES is down the job waits in delayed without using attempts, then completes once ES is back', async () => {
    proxy.cut();
    const id = ingestJobId('acme', 'live:100-200', 2, 0);
    await ingest.add('ingest', payload(entries('b', 4), 2), { jobId: id, attempts: 1 });
    let job: Job | undefined;
    const deadline = Date.now() + 30_000;
    for (;;) {
      job = await ingest.getJob(id);
      if (job && (await job.getState()) === 'delayed' && job.attemptsStarted >= 2) break;
      if (Date.now() > deadline) throw new Error(`job never went back to delayed twice (state ${String(await job?.getState())})`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(job.attemptsMade).toBe(0);
    expect(await rules.getJob(`rules.${id}`)).toBeUndefined();
    await proxy.start();
    for (;;) {
      const state = await (await ingest.getJob(id))?.getState();
      if (state === 'completed') break;
      if (state === 'failed') throw new Error('job failed instead of waiting for ES');
      if (Date.now() > deadline + 30_000) throw new Error(`job did not complete after recovery (state ${String(state)})`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await countIds('b')).toBe(4);
    expect((await rules.getJob(`rules.${id}`))?.data.events).toHaveLength(4);
  });

  it('a v2 job (entries as the texts Slack sent) indexes them with event.original byte for byte; a text that does not parse is dead-lettered', async () => {
    const texts = entries('t', 3).map((e, i) => (i === 1 ? JSON.stringify(e, null, 1) : JSON.stringify(e)));
    const job2: IngestJobV2 = { v: 2, sourceId: 'acme', kind: 'live', windowId: 'live:300-400', page: 0, chunk: 0, fetchedAt: Date.now(), entries: [...texts, '{"id":"t-broken",'] };
    const id = ingestJobId('acme', 'live:300-400', 0, 0);
    const job = await ingest.add('ingest', job2, { jobId: id });
    const result = (await job.waitUntilFinished(events, 30_000)) as { indexed: number; deadLettered: number };
    expect(result).toMatchObject({ indexed: 3, deadLettered: 1 });
    await direct.indices.refresh({ index: names(base).eventsAlias });
    const res = await direct.search<{ event: { id: string; original: string } }>({ index: names(base).eventsAlias, query: { prefix: { 'event.id': 't-' } }, sort: [{ 'event.id': 'asc' }] });
    expect(res.hits.hits.map((h) => h._source?.event.original)).toEqual(texts);
    const dlq = await listDeadLetters(direct, base);
    expect(dlq.some((h) => h.record.dlq.raw === JSON.stringify('{"id":"t-broken",'))).toBe(true);
    expect((await rules.getJob(`rules.${id}`))?.data.events).toHaveLength(3);
  });
});
