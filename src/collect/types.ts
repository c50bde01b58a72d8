import type { RawEntry } from '../slack/entry.js';
import type { WindowKind } from '../queue/jobs.js';

/**
 * The one Slack call the collector needs. `AuditLogsClient` (src/slack/audit-client.ts) implements it; tests may
 * pass anything that behaves the same: ONE request per call, never retries, throws SlackAuditError.
 */
export interface LogsQuery {
  oldest?: number;
  latest?: number;
  limit?: number;
  action?: string;
  actor?: string;
  entity?: string;
  cursor?: string;
}

export interface LogsPage {
  entries: RawEntry[];
  /** Each entry's JSON text as Slack sent it, when the client could slice it from the body (same order). */
  texts?: string[] | undefined;
  nextCursor: string | undefined;
  status: number;
}

export interface LogsFetcher {
  fetchPage(q: LogsQuery, signal?: AbortSignal): Promise<LogsPage>;
  close?(): Promise<void>;
}

/** A window with inclusive integer-second bounds. */
export interface TimeWindow {
  oldest: number;
  latest: number;
}

/**
 * A window being read, as persisted in Redis after every durably queued page. A crash resumes from `cursor`
 * with the SAME bounds and page numbering.
 */
export interface WindowRecord extends TimeWindow {
  windowId: string;
  sourceId: string;
  kind: WindowKind;
  /** Cursor of the NEXT page to fetch; '' = the first page of the window. */
  cursor: string;
  /**
   * Sequence number of the next page. Monotonic for the life of the window, also across invalid_cursor restarts,
   * so a re-read page never reuses the job id of a page with different content (BullMQ would drop it as a dup).
   */
  page: number;
  /** Consecutive retryable failures at the current position. */
  attempts: number;
  /** invalid_cursor restarts of this window. */
  restarts: number;
  /** Entries queued so far (a restart may count some twice). */
  events: number;
  startedAt: number;
  updatedAt: number;
}
