import type { JobsOptions, Queue } from 'bullmq';
import type { Config } from '../config/schema.js';
import { ingestJobId, type IngestJob, type WindowKind } from '../queue/jobs.js';
import type { RawEntry } from '../slack/entry.js';
import { chunkEntries, chunkTexts } from './chunk-entries.js';

/**
 * Job options of every ingest job. Many attempts with exponential backoff (BullMQ's builtin, jittered): the
 * cumulative wait before attempt n is about ingestBackoffMs * 2^n, so an ES outage of T is survived and the job
 * retries at most about T after the outage ends. Finished jobs are trimmed by age and count (Redis stays bounded);
 * completed ones are kept an hour so that a replayed page within that hour is deduped by job id already.
 */
export function ingestJobOptions(config: Config): JobsOptions {
  return {
    attempts: config.collector.ingestAttempts,
    backoff: { type: 'exponential', delay: config.collector.ingestBackoffMs, jitter: 0.25 },
    // Completed jobs hold whole pages: keep few. A page re-queued after its job was trimmed is re-indexed as 409s.
    removeOnComplete: { age: 3600, count: 100 },
    removeOnFail: { age: 7 * 86400, count: 1000 },
  };
}

export interface PageToQueue {
  sourceId: string;
  kind: WindowKind;
  windowId: string;
  page: number;
  entries: RawEntry[];
  /** The entries' JSON texts as Slack sent them (same order); queued as v2 jobs when present. */
  texts?: string[] | undefined;
  fetchedAt: number;
}

export interface QueuedPage {
  jobs: number;
  entries: number;
  newestEventAt: number | null;
}

/**
 * Chunk one page and enqueue it with deterministic job ids (ingestJobId): a replay cannot double-enqueue.
 * With the entries' texts at hand the jobs carry those (v2: sized and passed on without serializing anything);
 * otherwise the parsed entries (v1).
 */
export async function queuePage(queue: Queue, config: Config, p: PageToQueue): Promise<QueuedPage> {
  const { jobMaxEntries, jobMaxBytes } = config.collector;
  const head = { sourceId: p.sourceId, kind: p.kind, windowId: p.windowId, page: p.page, fetchedAt: p.fetchedAt };
  const payloads: IngestJob[] =
    p.texts !== undefined && p.texts.length === p.entries.length
      ? chunkTexts(p.texts, jobMaxEntries, jobMaxBytes).map((entries, chunk) => ({ v: 2, ...head, chunk, entries }))
      : chunkEntries(p.entries, jobMaxEntries, jobMaxBytes).map((entries, chunk) => ({ v: 1, ...head, chunk, entries }));
  const opts = ingestJobOptions(config);
  const jobs = payloads.map((data) => ({ name: 'ingest', data, opts: { ...opts, jobId: ingestJobId(p.sourceId, p.windowId, p.page, data.chunk) } }));
  if (jobs.length > 0) await queue.addBulk(jobs);
  return { jobs: jobs.length, entries: p.entries.length, newestEventAt: newestDate(p.entries) };
}

export function newestDate(entries: readonly RawEntry[]): number | null {
  let newest: number | null = null;
  for (const e of entries) {
    const d = e.date_create;
    if (typeof d === 'number' && Number.isFinite(d) && (newest === null || d > newest)) newest = d;
  }
  return newest;
}

/** Jobs that still hold entries not yet in ES: waiting, prioritized, delayed (retrying), paused, active. */
export async function pendingJobs(queue: Queue): Promise<number> {
  return queue.getJobCountByTypes('wait', 'prioritized', 'delayed', 'active');
}

/** Jobs not yet started (the backpressure measure). */
export async function backlogJobs(queue: Queue): Promise<number> {
  return queue.getJobCountByTypes('wait', 'prioritized', 'delayed');
}
