/**
 * Typed, versioned job payloads and queue names. A payload's `v` lets a new worker refuse (dead-letter) a job
 * it does not understand instead of misreading it during a rolling upgrade.
 */
import type { RawEntry } from '../slack/entry.js';

export const QUEUES = {
  /** Live polling: one repeatable poll job per source (BullMQ Job Scheduler). */
  poll: 'poll',
  /** Backfill windows, read at lower priority than live polling. */
  backfill: 'backfill',
  /** Batches of raw entries to normalize and index. */
  ingest: 'ingest',
  /** Normalized events for the rule worker. */
  rules: 'rules',
  /** Response actions (session reset, webhooks, notifications). */
  actions: 'actions',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export type WindowKind = 'live' | 'rescan' | 'backfill';

export interface IngestJobV1 {
  v: 1;
  sourceId: string;
  kind: WindowKind;
  /** Deterministic window id: `${kind}:${oldest}-${latest}` (Unix seconds, inclusive bounds). */
  windowId: string;
  /** Position of this page in the window's pagination, and of this chunk in the page. */
  page: number;
  chunk: number;
  /** Unix ms when the page was fetched (for end-to-end lag). */
  fetchedAt: number;
  /** Raw entries exactly as Slack sent them. */
  entries: RawEntry[];
}

/**
 * An ingest job whose entries are JSON texts, each as Slack sent it (sliced from the /logs body): nothing is
 * serialized again on the way, and the text becomes `event.original` unchanged.
 */
export interface IngestJobV2 extends Omit<IngestJobV1, 'v' | 'entries'> {
  v: 2;
  entries: string[];
}

export type IngestJob = IngestJobV1 | IngestJobV2;

/** The entries of an ingest job of either version, parsed (a v2 text that does not parse stays a string). */
export function ingestJobEntries(job: IngestJob): unknown[] {
  if (job.v === 1) return job.entries;
  return job.entries.map((text) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  });
}

export interface RulesJobV1 {
  v: 1;
  sourceId: string;
  /** Normalized ECS documents (already indexed), projected onto `fields` when that is set. */
  events: Record<string, unknown>[];
  /** The field paths the documents were projected onto (the indexer's rule pack); absent: whole documents. */
  fields?: readonly string[];
}

/** Deterministic ingest job id: a replay of the same page after a crash cannot double-enqueue. */
export function ingestJobId(sourceId: string, windowId: string, page: number, chunk: number): string {
  // BullMQ job ids must not contain ':' when custom; use a safe separator.
  return `ingest.${sourceId}.${windowId.replace(/:/g, '_')}.p${page}.c${chunk}`;
}
