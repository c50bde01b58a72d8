import { z } from 'zod';
import type { Dispatcher } from 'undici';
import { SlackAuditError } from '../errors.js';
import { metrics } from '../observe/metrics.js';
import { registerSecret } from '../observe/secrets.js';
import { classifyHttpFailure } from './classify.js';
import type { RawEntry } from './entry.js';
import { entryTexts } from './entry-texts.js';
import { SlackHttp, headerValue, parseJson, type RawResponse } from './http.js';

/**
 * Audit Logs API client (../shared/slack-api.md §1). One request per call: it never retries and never sleeps,
 * because the collector owns the org-wide rate budget and the retry policy. Entries are returned exactly as
 * they came off the wire; validating them (and dead-lettering bad ones) is the indexer's job.
 */

export interface LogsQuery {
  /** Unix seconds, inclusive. Resend on EVERY page: the cursor does not remember it (§1.4). */
  oldest?: number | undefined;
  /** Unix seconds, inclusive. */
  latest?: number | undefined;
  /** 1..9999. A page can exceed it when events share a second. */
  limit?: number | undefined;
  /** One action or a comma-separated list of up to 30. */
  action?: string | undefined;
  actor?: string | undefined;
  entity?: string | undefined;
  cursor?: string | undefined;
}

export interface LogsPage {
  entries: RawEntry[];
  /** Each entry's JSON text sliced from the body (see entryTexts), when the body allows it. */
  texts?: string[] | undefined;
  /** Undefined on the last page (Slack sends an empty string, null, or nothing). */
  nextCursor: string | undefined;
  status: number;
}

export interface AuditLogsClientOptions {
  /** e.g. https://api.slack.com/audit/v1 (no trailing /logs). */
  baseUrl: string;
  token: string;
  sourceId: string;
  timeoutMs?: number | undefined;
  dispatcher?: Dispatcher | undefined;
}

/**
 * The envelope only. `entries` stays `unknown[]` so zod neither clones nor strips the entries: they must reach
 * the indexer untouched, odd ones included (the indexer dead-letters what auditEntrySchema rejects).
 */
const logsEnvelope = z
  .object({
    ok: z.boolean().optional(),
    error: z.string().optional(),
    entries: z.array(z.unknown()).optional(),
    response_metadata: z.object({ next_cursor: z.unknown().optional() }).loose().nullish(),
  })
  .loose();

const errorEnvelope = z.object({ ok: z.boolean().optional(), error: z.string().optional(), needed: z.string().optional(), provided: z.string().optional() }).loose();
const actionsEnvelope = z.object({ actions: z.record(z.string(), z.array(z.string())) }).loose();
const schemasEnvelope = z.object({ schemas: z.array(z.unknown()) }).loose();

export class AuditLogsClient {
  private readonly http: SlackHttp;
  private readonly token: string;
  private readonly sourceId: string;

  constructor(opts: AuditLogsClientOptions) {
    this.http = new SlackHttp('audit', { baseUrl: opts.baseUrl, timeoutMs: opts.timeoutMs, dispatcher: opts.dispatcher });
    this.token = opts.token;
    this.sourceId = opts.sourceId;
    registerSecret(opts.token);
  }

  /** GET /logs once. Throws SlackAuditError (classified in classify.ts) on anything but a page of entries. */
  async fetchPage(q: LogsQuery, signal?: AbortSignal): Promise<LogsPage> {
    const query = new URLSearchParams();
    if (q.oldest !== undefined) query.set('oldest', String(Math.floor(q.oldest)));
    if (q.latest !== undefined) query.set('latest', String(Math.floor(q.latest)));
    if (q.limit !== undefined) query.set('limit', String(q.limit));
    if (q.action !== undefined && q.action !== '') query.set('action', q.action);
    if (q.actor !== undefined && q.actor !== '') query.set('actor', q.actor);
    if (q.entity !== undefined && q.entity !== '') query.set('entity', q.entity);
    if (q.cursor !== undefined && q.cursor !== '') query.set('cursor', q.cursor);
    const res = await this.get('/logs', query, true, signal);
    const parsed = parseJson(res.text);
    const env = parsed.ok ? logsEnvelope.safeParse(parsed.value) : undefined;
    if (res.status >= 200 && res.status < 300 && env?.success && env.data.entries !== undefined) {
      this.count('/logs', 'ok');
      const next = env.data.response_metadata?.next_cursor;
      const entries = env.data.entries as RawEntry[]; // verbatim; see logsEnvelope
      const texts = entryTexts(res.text);
      return { entries, ...(texts?.length === entries.length ? { texts } : {}), nextCursor: typeof next === 'string' && next !== '' ? next : undefined, status: res.status };
    }
    throw this.fail('/logs', res, parsed.ok ? parsed.value : undefined, parsed.ok);
  }

  /** GET /actions (no auth needed): action names grouped by category, for a start-up check. */
  async actions(signal?: AbortSignal): Promise<Record<string, string[]>> {
    const res = await this.get('/actions', undefined, false, signal);
    const parsed = parseJson(res.text);
    const env = parsed.ok ? actionsEnvelope.safeParse(parsed.value) : undefined;
    if (res.status >= 200 && res.status < 300 && env?.success) {
      this.count('/actions', 'ok');
      return env.data.actions;
    }
    throw this.fail('/actions', res, parsed.ok ? parsed.value : undefined, parsed.ok);
  }

  /** GET /schemas (no auth needed): the object types the API returns. */
  async schemas(signal?: AbortSignal): Promise<unknown[]> {
    const res = await this.get('/schemas', undefined, false, signal);
    const parsed = parseJson(res.text);
    const env = parsed.ok ? schemasEnvelope.safeParse(parsed.value) : undefined;
    if (res.status >= 200 && res.status < 300 && env?.success) {
      this.count('/schemas', 'ok');
      return env.data.schemas;
    }
    throw this.fail('/schemas', res, parsed.ok ? parsed.value : undefined, parsed.ok);
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private async get(endpoint: string, query: URLSearchParams | undefined, auth: boolean, signal?: AbortSignal): Promise<RawResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    // /actions and /schemas need no auth (§1.1): do not spread the token further than needed.
    if (auth) headers.authorization = `Bearer ${this.token}`;
    try {
      return await this.http.send({ method: 'GET', endpoint, query, headers, signal });
    } catch (err) {
      if (err instanceof SlackAuditError) this.count(endpoint, err.code);
      throw err;
    }
  }

  private fail(endpoint: string, res: RawResponse, body: unknown, bodyWasJson: boolean): SlackAuditError {
    const env = errorEnvelope.safeParse(body);
    const slackError = env.success ? env.data.error : undefined;
    const extra: Record<string, unknown> = {};
    if (env.success && env.data.needed !== undefined) extra.needed = env.data.needed;
    if (env.success && env.data.provided !== undefined) extra.provided = env.data.provided;
    if (bodyWasJson && !env.success) extra.bodyShape = 'not an object';
    if (bodyWasJson && env.success && slackError === undefined) extra.bodyShape = 'no entries array';
    const err = classifyHttpFailure({
      api: 'audit',
      endpoint,
      httpStatus: res.status,
      retryAfter: headerValue(res.headers, 'retry-after'),
      slackError,
      bodyWasJson,
      extra: { sourceId: this.sourceId, ...extra },
    });
    this.count(endpoint, err.code);
    if (err.code === 'SLACK_AUDIT_SLACK_RATE_LIMITED') metrics.slackRateLimited.inc({ source: this.sourceId, endpoint });
    return err;
  }

  private count(endpoint: string, outcome: string): void {
    metrics.slackRequests.inc({ source: this.sourceId, endpoint, outcome });
  }
}
