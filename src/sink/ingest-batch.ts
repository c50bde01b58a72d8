import type { Client } from '@elastic/elasticsearch';
import type { Config } from '../config/schema.js';
import { SlackAuditError } from '../errors.js';
import type { Enrichers } from '../normalize/enrich.js';
import { toEcs, type EcsDocument } from '../normalize/index.js';
import type { Logger } from '../observe/logger.js';
import { metrics } from '../observe/metrics.js';
import { scrubbedJson } from '../observe/secrets.js';
import { ingestJobEntries, type IngestJob } from '../queue/jobs.js';
import { BulkWriter, type BulkDoc } from './bulk-writer.js';
import { writeDeadLetters, type DeadLetterInput } from './dead-letter.js';
import { eventsIndexFor } from './templates.js';

export interface IngestDeps {
  es: Client;
  config: Config;
  log: Logger;
  enrichers: Enrichers;
  writer?: BulkWriter;
  /** BullMQ job id and attempt number, recorded on dead letters. */
  jobId?: string | undefined;
  attempt?: number | undefined;
  now?: () => Date;
}

export type EntryOutcome =
  | { position: number; status: 'created'; doc: EcsDocument; index: string; id: string; dateCreate: number }
  | { position: number; status: 'duplicate'; doc: EcsDocument; index: string; id: string; dateCreate: number }
  | { position: number; status: 'invalid'; reason: string; message: string; entryId?: string | undefined; action?: string | undefined }
  | { position: number; status: 'rejected'; reason: string; message: string; entryId: string; action: string; index: string; doc: EcsDocument }
  | { position: number; status: 'retryable'; reason: string; message: string; entryId: string };

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Validate + normalize + bulk-write raw entries; report what happened to each one. Shared by the ingest job
 * and by `dlq replay`, so a replayed entry takes exactly the path a fresh one does.
 */
export async function indexRawEntries(raws: readonly unknown[], sourceId: string, deps: IngestDeps, texts?: readonly (string | undefined)[]): Promise<EntryOutcome[]> {
  const { config } = deps;
  const writer = deps.writer ?? BulkWriter.fromConfig(deps.es, config);
  const ingestedAt = (deps.now?.() ?? new Date()).toISOString();
  const ctx = { sourceId, keepOriginal: config.elasticsearch.keepOriginal, namespace: config.namespace, ingestedAt, ...deps.enrichers };
  const outcomes: EntryOutcome[] = [];
  const toWrite: { position: number; bulk: BulkDoc; doc: EcsDocument; dateCreate: number; action: string }[] = [];
  raws.forEach((input, position) => {
    // Scrub at the boundary, before anything is derived from the entry (event.original, the UA parse, every
    // field): a token pasted into an audited field must not reach ES, and nothing downstream adds one.
    const { value: raw, json } = scrubbedJson(input, texts?.[position]);
    const r = toEcs(raw, ctx, json);
    if (!r.ok) {
      const obj = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
      outcomes.push({ position, status: 'invalid', reason: typeof r.error.details.reason === 'string' ? r.error.details.reason : r.error.code, message: r.error.message, entryId: str(obj.id), action: str(obj.action) });
      return;
    }
    const doc = r.doc;
    toWrite.push({ position, bulk: { index: eventsIndexFor(config, r.dateCreate), id: r.id, doc }, doc, dateCreate: r.dateCreate, action: doc.event.action });
  });
  if (toWrite.length > 0) {
    const res = await writer.write(toWrite.map((w) => w.bulk));
    for (const item of res.items) {
      const w = toWrite[item.position];
      if (!w) continue;
      const message = `${item.errorType ?? `HTTP ${item.httpStatus}`}: ${item.errorReason ?? 'no reason given'}`;
      switch (item.status) {
        case 'created':
          outcomes.push({ position: w.position, status: 'created', doc: w.doc, index: item.index, id: item.id, dateCreate: w.dateCreate });
          break;
        case 'duplicate':
          outcomes.push({ position: w.position, status: 'duplicate', doc: w.doc, index: item.index, id: item.id, dateCreate: w.dateCreate });
          break;
        case 'rejected':
          outcomes.push({ position: w.position, status: 'rejected', reason: item.errorType ?? `http_${item.httpStatus}`, message, entryId: item.id, action: w.action, index: item.index, doc: w.doc });
          break;
        case 'retryable':
          outcomes.push({ position: w.position, status: 'retryable', reason: item.errorType ?? `http_${item.httpStatus}`, message, entryId: item.id });
          break;
      }
    }
  }
  return outcomes.sort((a, b) => a.position - b.position);
}

/** v1 jobs hold parsed entries; v2 jobs their texts, kept for event.original (one that does not parse stays a string: invalid, dead-lettered as is). */
function decodeEntries(job: IngestJob): { raws: unknown[]; texts: (string | undefined)[] | undefined } {
  const raws = ingestJobEntries(job);
  if (job.v === 1) return { raws, texts: undefined };
  return { raws, texts: job.entries.map((text, i) => (raws[i] === text ? undefined : text)) };
}

export interface IngestResult {
  indexed: number;
  duplicates: number;
  deadLettered: number;
  docs: EcsDocument[];
}

/**
 * One ingest job: every entry ends up indexed (new or duplicate) or dead-lettered; if any item must be
 * retried (429/5xx) or ES is unreachable, this throws a retryable SLACK_AUDIT_ES_UNAVAILABLE after writing
 * the dead letters, and the queue runs the whole job again (already-written entries then answer 409).
 * `docs` holds every valid normalized document of the batch (new and duplicates) for the rules queue.
 */
export async function processIngestJob(job: IngestJob, deps: IngestDeps): Promise<IngestResult> {
  const { config, log } = deps;
  const source = job.sourceId;
  const { raws, texts } = decodeEntries(job);
  const outcomes = await indexRawEntries(raws, source, deps, texts);
  const letters: DeadLetterInput[] = [];
  const docs: EcsDocument[] = [];
  let indexed = 0;
  let duplicates = 0;
  let retryable = 0;
  let newest = 0;
  let firstRetryReason = '';
  for (const o of outcomes) {
    const raw = raws[o.position];
    switch (o.status) {
      case 'created':
      case 'duplicate':
        if (o.status === 'created') indexed++;
        else duplicates++;
        docs.push(o.doc);
        newest = Math.max(newest, o.dateCreate);
        break;
      case 'invalid':
        letters.push({ kind: 'entry', stage: 'validate', reason: o.reason, message: o.message, raw, sourceId: source, jobId: deps.jobId, entryId: o.entryId, action: o.action, attempts: deps.attempt ?? 1 });
        break;
      case 'rejected':
        letters.push({ kind: 'entry', stage: 'index', reason: o.reason, message: o.message, raw, sourceId: source, jobId: deps.jobId, entryId: o.entryId, action: o.action, targetIndex: o.index, attempts: deps.attempt ?? 1 });
        break;
      case 'retryable':
        retryable++;
        firstRetryReason ||= o.message;
        break;
    }
  }
  await writeDeadLetters(deps.es, config, letters, deps.now?.());
  metrics.eventsIndexed.inc({ source }, indexed);
  metrics.eventsDeduplicated.inc({ source }, duplicates);
  for (const l of letters) metrics.eventsDeadLettered.inc({ source, reason: l.reason });
  if (letters.length > 0) log.warn({ source, jobId: deps.jobId, deadLettered: letters.length, reasons: [...new Set(letters.map((l) => l.reason))] }, 'entries dead-lettered');
  if (retryable > 0) {
    metrics.errors.inc({ code: 'SLACK_AUDIT_ES_UNAVAILABLE' });
    throw new SlackAuditError('SLACK_AUDIT_ES_UNAVAILABLE', `${retryable} of ${job.entries.length} entries must be retried (${firstRetryReason})`, {
      retryable: true,
      details: { retryable, indexed, duplicates },
    });
  }
  const nowMs = (deps.now?.() ?? new Date()).getTime();
  if (newest > 0) metrics.lagSeconds.set({ source }, Math.max(0, nowMs / 1000 - newest));
  if (job.fetchedAt > 0) metrics.endToEndLagSeconds.observe({ source }, Math.max(0, (nowMs - job.fetchedAt) / 1000));
  log.debug({ source, jobId: deps.jobId, indexed, duplicates, deadLettered: letters.length }, 'ingest batch written');
  return { indexed, duplicates, deadLettered: letters.length, docs };
}
