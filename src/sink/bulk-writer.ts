import type { Client } from '@elastic/elasticsearch';
import { errors as esErrors } from '@elastic/elasticsearch';
import type { Config } from '../config/schema.js';
import { SlackAuditError, errorMessage } from '../errors.js';
import { scrubString } from '../observe/secrets.js';

/**
 * Bulk `create` writer with per-item outcomes.
 *
 * - Requests are cut by doc count and by serialized bytes (config.elasticsearch.bulk) and run with bounded
 *   concurrency.
 * - Per item: 201 -> `created`; 409 -> `duplicate` (the `_id` is the Slack id and the index is a function of
 *   the event, so "already there" is success); 429 / 5xx / cluster blocks -> retried here with exponential
 *   backoff a few times, then reported as `retryable` (the caller fails the job so the queue retries it
 *   later; nothing is dropped); any other 4xx (mapping errors) -> `rejected` (caller dead-letters it).
 * - If Elasticsearch cannot be reached at all, `write` throws a retryable SLACK_AUDIT_ES_UNAVAILABLE after
 *   its own retries. Items already written are harmless on the next attempt (409).
 */
export interface BulkDoc {
  index: string;
  id: string;
  doc: Record<string, unknown>;
}

export type BulkItemStatus = 'created' | 'duplicate' | 'retryable' | 'rejected';

export interface BulkItemResult {
  /** Position of the doc in the input array. */
  position: number;
  index: string;
  id: string;
  status: BulkItemStatus;
  httpStatus: number;
  errorType?: string;
  errorReason?: string;
  /** Tries spent on this item inside this call. */
  attempts: number;
}

export interface BulkWriteResult {
  items: BulkItemResult[];
  created: number;
  duplicates: number;
  retryable: number;
  rejected: number;
}

export interface BulkWriterOptions {
  maxDocs: number;
  maxBytes: number;
  concurrency: number;
  /** Tries per item for 429/5xx items, and per request for connection failures (default 4). */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** `refresh` for every bulk request (tests use 'wait_for'; production leaves it off). */
  refresh?: boolean | 'wait_for';
  sleep?: (ms: number) => Promise<void>;
}

const RETRYABLE_ITEM_TYPES = new Set(['cluster_block_exception', 'es_rejected_execution_exception', 'unavailable_shards_exception', 'circuit_breaking_exception']);

function isRetryableItem(status: number, type: string | undefined): boolean {
  return status === 429 || status >= 500 || (type !== undefined && RETRYABLE_ITEM_TYPES.has(type));
}

/** Errors meaning "ES is not answering (properly)": retry the whole request later. */
export function isUnavailableError(err: unknown): boolean {
  if (err instanceof esErrors.ConnectionError || err instanceof esErrors.TimeoutError || err instanceof esErrors.NoLivingConnectionsError) return true;
  if (err instanceof esErrors.ResponseError) {
    const status = err.meta.statusCode ?? 0;
    return status === 429 || status >= 500 || status === 0;
  }
  return false;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class BulkWriter {
  private readonly opts: Required<Omit<BulkWriterOptions, 'refresh'>> & Pick<BulkWriterOptions, 'refresh'>;

  constructor(
    private readonly es: Client,
    options: BulkWriterOptions,
  ) {
    this.opts = {
      maxAttempts: 4,
      baseDelayMs: 200,
      maxDelayMs: 5000,
      sleep: defaultSleep,
      ...options,
    };
  }

  static fromConfig(es: Client, config: Pick<Config, 'elasticsearch'>, extra: Partial<BulkWriterOptions> = {}): BulkWriter {
    return new BulkWriter(es, { ...config.elasticsearch.bulk, ...extra });
  }

  private backoff(attempt: number): number {
    const exp = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (attempt - 1));
    return exp / 2 + Math.random() * (exp / 2);
  }

  async write(docs: BulkDoc[]): Promise<BulkWriteResult> {
    const results = new Array<BulkItemResult | undefined>(docs.length);
    // Serialize once: the size cut needs the bytes anyway, and the client passes strings through as NDJSON.
    const lines = docs.map((d) => ({ action: JSON.stringify({ create: { _index: d.index, _id: d.id } }), source: JSON.stringify(d.doc) }));
    let pending = docs.map((_, i) => i);
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > 1) await this.opts.sleep(this.backoff(attempt - 1));
      const batches = this.cut(pending, lines);
      const retry: number[] = [];
      await this.runBounded(batches, async (batch) => {
        const outcome = await this.send(batch, lines);
        batch.forEach((position, k) => {
          const item = outcome[k];
          const doc = docs[position] as BulkDoc;
          const status = item?.status ?? 0;
          const type = item?.error?.type;
          let kind: BulkItemStatus;
          if (status === 201 || status === 200) kind = 'created';
          else if (status === 409) kind = 'duplicate';
          else if (status === 0 || isRetryableItem(status, type)) kind = 'retryable';
          else kind = 'rejected';
          results[position] = {
            position,
            index: doc.index,
            id: doc.id,
            status: kind,
            httpStatus: status,
            attempts: attempt,
            ...(type === undefined ? {} : { errorType: type }),
            ...(item?.error?.reason ? { errorReason: scrubString(item.error.reason) } : {}),
          };
          if (kind === 'retryable') retry.push(position);
        });
      });
      if (attempt >= this.opts.maxAttempts) break;
      pending = retry;
    }
    const items = results.filter((r): r is BulkItemResult => r !== undefined);
    const count = (s: BulkItemStatus) => items.filter((i) => i.status === s).length;
    return { items, created: count('created'), duplicates: count('duplicate'), retryable: count('retryable'), rejected: count('rejected') };
  }

  /** Cut positions into requests of at most maxDocs docs and about maxBytes bytes (a lone big doc still goes). */
  private cut(positions: number[], lines: { action: string; source: string }[]): number[][] {
    const out: number[][] = [];
    let cur: number[] = [];
    let bytes = 0;
    for (const p of positions) {
      const l = lines[p] as { action: string; source: string };
      const size = Buffer.byteLength(l.action) + Buffer.byteLength(l.source) + 2;
      if (cur.length > 0 && (cur.length >= this.opts.maxDocs || bytes + size > this.opts.maxBytes)) {
        out.push(cur);
        cur = [];
        bytes = 0;
      }
      cur.push(p);
      bytes += size;
    }
    if (cur.length > 0) out.push(cur);
    return out;
  }

  /** Run tasks `concurrency` at a time; the first failure stops further tasks and is rethrown. */
  private async runBounded<T>(tasks: T[], fn: (t: T) => Promise<void>): Promise<void> {
    let next = 0;
    let failure: { err: unknown } | undefined;
    const workers = Array.from({ length: Math.min(this.opts.concurrency, tasks.length) }, async () => {
      while (next < tasks.length && !failure) {
        const task = tasks[next++] as T;
        try {
          await fn(task);
        } catch (err) {
          failure ??= { err };
        }
      }
    });
    await Promise.all(workers);
    if (failure) throw failure.err;
  }

  /** One bulk request, retried on connection-level failures; throws retryable when ES stays unreachable. */
  private async send(batch: number[], lines: { action: string; source: string }[]): Promise<({ status: number; error?: { type?: string; reason?: string | null } } | undefined)[]> {
    const operations: string[] = [];
    for (const p of batch) {
      const l = lines[p] as { action: string; source: string };
      operations.push(l.action, l.source);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.es.bulk({ operations, ...(this.opts.refresh === undefined ? {} : { refresh: this.opts.refresh }) }, { maxRetries: 0 });
        return res.items.map((item) => {
          const r = item.create ?? item.index ?? Object.values(item)[0];
          return r ? { status: r.status, ...(r.error ? { error: { type: r.error.type, reason: r.error.reason ?? null } } : {}) } : undefined;
        });
      } catch (err) {
        if (!isUnavailableError(err)) {
          throw new SlackAuditError('SLACK_AUDIT_ES_ITEM_REJECTED', `bulk request refused: ${scrubString(errorMessage(err))}`, { cause: err });
        }
        if (attempt >= this.opts.maxAttempts) {
          throw new SlackAuditError('SLACK_AUDIT_ES_UNAVAILABLE', `Elasticsearch unavailable: ${scrubString(errorMessage(err))}`, { retryable: true, cause: err });
        }
        await this.opts.sleep(this.backoff(attempt));
      }
    }
  }
}
