import { createHash } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import { z } from 'zod';
import { names } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { SlackAuditError, errorMessage } from '../errors.js';
import { metrics } from '../observe/metrics.js';
import { scrubSecrets, scrubString } from '../observe/secrets.js';

/**
 * Dead letters: one document per entry we could not validate, normalize or index (or per job payload we
 * cannot decode), in `slack-audit-dlq-<ns>`, holding the RAW entry (secrets scrubbed) so an operator can fix
 * the cause (usually a template) and replay it through the normal path. The `_id` is deterministic (source +
 * Slack id, or source + raw bytes) so a retried job updates the same record instead of adding another one.
 */
export type DeadLetterStage = 'decode' | 'validate' | 'normalize' | 'index';

export interface DeadLetterInput {
  /** `entry`: one raw Slack entry (replayable); `job`: a whole job payload we could not decode. */
  kind: 'entry' | 'job';
  stage: DeadLetterStage;
  /** Stable reason code: our error code or the ES error type (e.g. `document_parsing_exception`). */
  reason: string;
  message: string;
  raw: unknown;
  sourceId: string;
  jobId?: string | undefined;
  entryId?: string | undefined;
  action?: string | undefined;
  targetIndex?: string | undefined;
  /** Attempts so far (the job's attempt number on first write). */
  attempts: number;
}

export const deadLetterRecordSchema = z
  .object({
    '@timestamp': z.string(),
    error: z.object({ code: z.string(), message: z.string(), type: z.string().optional() }).loose(),
    event: z.object({ id: z.string().optional(), action: z.string().optional() }).loose().optional(),
    dlq: z
      .object({
        id: z.string(),
        kind: z.enum(['entry', 'job']),
        stage: z.string(),
        reason: z.string(),
        attempts: z.number(),
        source_id: z.string(),
        job_id: z.string().optional(),
        entry_id: z.string().optional(),
        target_index: z.string().optional(),
        first_seen: z.string(),
        last_attempt: z.string(),
        raw: z.string(),
      })
      .loose(),
  })
  .loose();
export type DeadLetterRecord = z.infer<typeof deadLetterRecordSchema>;

export function deadLetterId(sourceId: string, entryId: string | undefined, rawText: string): string {
  const h = createHash('sha256');
  h.update(sourceId).update('\n');
  if (entryId !== undefined) h.update('id:').update(entryId);
  else h.update('raw:').update(rawText);
  return h.digest('hex').slice(0, 40);
}

function rawText(raw: unknown): string {
  try {
    const text = JSON.stringify(scrubSecrets(raw)) as string | undefined; // undefined for a bare `undefined`
    return text ?? String(raw);
  } catch {
    return scrubString(String(raw));
  }
}

function isNotFound(err: unknown): boolean {
  return (err as { meta?: { statusCode?: number } }).meta?.statusCode === 404;
}

/**
 * Park a queue job whose payload this worker cannot decode (a newer producer in a rolling upgrade, or a
 * corrupt job): one `job` dead letter holding the payload, and the dead-letter metric. Returns the source id.
 */
export async function deadLetterUndecodableJob(es: Client, config: Pick<Config, 'namespace' | 'redis'>, job: { id?: string | undefined; data: unknown; attemptsMade: number }, message: string): Promise<string> {
  const raw = job.data;
  const sourceId = raw !== null && typeof raw === 'object' && typeof (raw as { sourceId?: unknown }).sourceId === 'string' ? (raw as { sourceId: string }).sourceId : 'unknown';
  await writeDeadLetters(es, config, [{ kind: 'job', stage: 'decode', reason: 'SLACK_AUDIT_JOB_INVALID', message, raw, sourceId, jobId: job.id, attempts: job.attemptsMade + 1 }]);
  metrics.eventsDeadLettered.inc({ source: sourceId, reason: 'SLACK_AUDIT_JOB_INVALID' });
  return sourceId;
}

/**
 * Write (upsert) dead letters. A record that already exists keeps its first_seen and raw entry and counts
 * one more attempt (read-modify-write: the slim test ES has no scripting, and dead letters of one entry are
 * written by one job at a time). Throws a retryable error unless every record is stored: nothing is dropped.
 */
export async function writeDeadLetters(es: Client, config: Pick<Config, 'namespace' | 'redis'>, letters: DeadLetterInput[], now: Date = new Date()): Promise<string[]> {
  if (letters.length === 0) return [];
  const index = names(config).dlqIndex;
  const at = now.toISOString();
  const prepared = letters.map((l) => {
    const text = rawText(l.raw);
    return { l, text, id: deadLetterId(l.sourceId, l.entryId, text) };
  });
  const ids = prepared.map((p) => p.id);
  const previous = new Map<string, DeadLetterRecord>();
  try {
    const existing = await es.mget({ index, ids: [...new Set(ids)] });
    for (const d of existing.docs) {
      if (!('found' in d) || !d.found) continue;
      const parsed = deadLetterRecordSchema.safeParse(d._source);
      if (parsed.success) previous.set(d._id, parsed.data);
    }
  } catch (err) {
    if (!isNotFound(err)) throw new SlackAuditError('SLACK_AUDIT_ES_UNAVAILABLE', `cannot read dead letters: ${scrubString(errorMessage(err))}`, { retryable: true, cause: err });
  }
  const operations: unknown[] = [];
  for (const { l, text, id } of prepared) {
    const prev = previous.get(id);
    const attempts = prev ? Math.max(prev.dlq.attempts + 1, l.attempts) : l.attempts;
    previous.set(id, { '@timestamp': at, error: { code: l.reason, message: '' }, dlq: { ...(prev?.dlq ?? { id, kind: l.kind, stage: l.stage, reason: l.reason, source_id: l.sourceId, first_seen: at, last_attempt: at, raw: text }), attempts } });
    const doc = {
      '@timestamp': at,
      error: { code: l.reason, message: scrubString(l.message), type: l.stage },
      event: { ...(l.entryId === undefined ? {} : { id: l.entryId }), ...(l.action === undefined ? {} : { action: l.action }) },
      dlq: {
        id,
        kind: l.kind,
        stage: l.stage,
        reason: l.reason,
        attempts,
        source_id: l.sourceId,
        ...(l.jobId === undefined ? (prev?.dlq.job_id === undefined ? {} : { job_id: prev.dlq.job_id }) : { job_id: l.jobId }),
        ...(l.entryId === undefined ? {} : { entry_id: l.entryId }),
        ...(l.targetIndex === undefined ? {} : { target_index: l.targetIndex }),
        first_seen: prev?.dlq.first_seen ?? at,
        last_attempt: at,
        raw: prev?.dlq.raw ?? text,
      },
    };
    operations.push({ index: { _index: index, _id: id } }, doc);
  }
  let res;
  try {
    res = await es.bulk({ operations, refresh: 'wait_for' });
  } catch (err) {
    throw new SlackAuditError('SLACK_AUDIT_ES_UNAVAILABLE', `cannot write dead letters: ${scrubString(errorMessage(err))}`, { retryable: true, cause: err });
  }
  if (res.errors) {
    const first = res.items.map((i) => i.index?.error).find((e) => e !== undefined);
    throw new SlackAuditError('SLACK_AUDIT_ES_UNAVAILABLE', `dead-letter write failed: ${first?.type ?? 'unknown'}: ${scrubString(first?.reason ?? '')}`, { retryable: true });
  }
  return ids;
}

export interface ListOptions {
  limit?: number;
  ids?: string[];
}

export interface DeadLetterHit {
  id: string;
  record: DeadLetterRecord;
}

/** Newest first; or the given ids (missing ones are left out). */
export async function listDeadLetters(es: Client, config: Pick<Config, 'namespace' | 'redis'>, options: ListOptions = {}): Promise<DeadLetterHit[]> {
  const index = names(config).dlqIndex;
  try {
    if (options.ids && options.ids.length > 0) {
      const res = await es.mget({ index, ids: options.ids });
      return res.docs.flatMap((d) => {
        if (!('found' in d) || !d.found) return [];
        const parsed = deadLetterRecordSchema.safeParse(d._source);
        return parsed.success ? [{ id: d._id, record: parsed.data }] : [];
      });
    }
    const res = await es.search({ index, size: Math.min(options.limit ?? 100, 10_000), sort: [{ '@timestamp': 'desc' }, { 'dlq.id': 'asc' }] });
    return res.hits.hits.flatMap((h) => {
      const parsed = deadLetterRecordSchema.safeParse(h._source);
      return parsed.success && h._id !== undefined ? [{ id: h._id, record: parsed.data }] : [];
    });
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

/** Every dead letter, oldest first, page by page (search_after on @timestamp + dlq.id). */
export async function* allDeadLetters(es: Client, config: Pick<Config, 'namespace' | 'redis'>, pageSize = 500): AsyncGenerator<DeadLetterHit[]> {
  const index = names(config).dlqIndex;
  let after: (string | number)[] | undefined;
  for (;;) {
    let res;
    try {
      res = await es.search({ index, size: pageSize, sort: [{ '@timestamp': 'asc' }, { 'dlq.id': 'asc' }], ...(after ? { search_after: after } : {}) });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    const hits = res.hits.hits;
    if (hits.length === 0) return;
    yield hits.flatMap((h) => {
      const parsed = deadLetterRecordSchema.safeParse(h._source);
      return parsed.success && h._id !== undefined ? [{ id: h._id, record: parsed.data }] : [];
    });
    const last = hits[hits.length - 1];
    after = last?.sort as (string | number)[] | undefined;
    if (!after || hits.length < pageSize) return;
  }
}

export async function deleteDeadLetters(es: Client, config: Pick<Config, 'namespace' | 'redis'>, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const index = names(config).dlqIndex;
  await es.bulk({ operations: ids.map((id) => ({ delete: { _index: index, _id: id } })), refresh: 'wait_for' });
}
