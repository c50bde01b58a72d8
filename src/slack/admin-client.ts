import { z } from 'zod';
import type { Dispatcher } from 'undici';
import { SlackAuditError } from '../errors.js';
import { metrics } from '../observe/metrics.js';
import { registerSecret } from '../observe/secrets.js';
import { classifyHttpFailure } from './classify.js';
import { SlackHttp, headerValue, parseJson, type RawResponse } from './http.js';

/**
 * Slack admin Web API client for the session-kill methods (../shared/slack-api.md §3). undici directly,
 * no SDK: one request per call and no in-process retry loop, so a BullMQ worker is never blocked for
 * half an hour; the error's `retryable`/`retryAfterSeconds` tell the job what to do.
 * Errors arrive as HTTP 200 with `ok:false`; classify.ts maps them per the §3.1 retry table.
 */

export interface SlackAdminClientOptions {
  /** e.g. https://slack.com/api */
  baseUrl: string;
  token: string;
  timeoutMs?: number | undefined;
  dispatcher?: Dispatcher | undefined;
}

export interface ResetSessionArgs {
  userId: string;
  mobileOnly?: boolean | undefined;
  webOnly?: boolean | undefined;
}

export interface ResetSessionBulkArgs {
  userIds: string[];
  mobileOnly?: boolean | undefined;
  webOnly?: boolean | undefined;
}

export interface ListSessionsArgs {
  userId?: string | undefined;
  teamId?: string | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
}

/** resetBulk accepts at most this many users per call (§3.2). */
export const RESET_BULK_MAX_USERS = 1000;

const webEnvelope = z
  .object({
    ok: z.boolean().optional(),
    error: z.string().optional(),
    needed: z.string().optional(),
    provided: z.string().optional(),
    warning: z.string().optional(),
  })
  .loose();

const listEnvelope = z
  .object({
    active_sessions: z.array(z.unknown()).default([]),
    response_metadata: z.object({ next_cursor: z.unknown().optional() }).loose().nullish(),
  })
  .loose();

const SOURCE_LABEL = 'admin';

export class SlackAdminClient {
  private readonly http: SlackHttp;
  private readonly token: string;

  constructor(opts: SlackAdminClientOptions) {
    this.http = new SlackHttp('admin', { baseUrl: opts.baseUrl, timeoutMs: opts.timeoutMs, dispatcher: opts.dispatcher });
    this.token = opts.token;
    registerSecret(opts.token);
  }

  /** admin.users.session.reset: wipe all (or mobile-only / web-only) sessions of one user, org-wide. */
  async resetSession(a: ResetSessionArgs): Promise<void> {
    await this.call('/admin.users.session.reset', {
      user_id: a.userId,
      ...(a.mobileOnly === undefined ? {} : { mobile_only: a.mobileOnly }),
      ...(a.webOnly === undefined ? {} : { web_only: a.webOnly }),
    });
  }

  /** admin.users.session.resetBulk: queues an async reset; `ok` only means the job was accepted. */
  async resetSessionBulk(a: ResetSessionBulkArgs): Promise<void> {
    if (a.userIds.length === 0 || a.userIds.length > RESET_BULK_MAX_USERS) {
      throw new SlackAuditError('SLACK_AUDIT_SLACK_TERMINAL', `admin.users.session.resetBulk takes 1..${RESET_BULK_MAX_USERS} user ids, got ${a.userIds.length}`, {
        details: { slackError: 'invalid_arguments', httpStatus: 0, endpoint: '/admin.users.session.resetBulk', api: 'admin' },
      });
    }
    await this.call('/admin.users.session.resetBulk', {
      user_ids: a.userIds,
      ...(a.mobileOnly === undefined ? {} : { mobile_only: a.mobileOnly }),
      ...(a.webOnly === undefined ? {} : { web_only: a.webOnly }),
    });
  }

  /** admin.users.session.list: pass both userId and teamId, or neither (§3.4). */
  async listSessions(a: ListSessionsArgs): Promise<{ sessions: unknown[]; nextCursor: string | undefined }> {
    const body = await this.call('/admin.users.session.list', {
      ...(a.userId === undefined ? {} : { user_id: a.userId }),
      ...(a.teamId === undefined ? {} : { team_id: a.teamId }),
      ...(a.cursor === undefined ? {} : { cursor: a.cursor }),
      ...(a.limit === undefined ? {} : { limit: a.limit }),
    });
    const parsed = listEnvelope.safeParse(body);
    if (!parsed.success) {
      throw new SlackAuditError('SLACK_AUDIT_SLACK_BAD_BODY', 'Slack admin /admin.users.session.list: unexpected response body', {
        retryable: true,
        details: { slackError: null, httpStatus: 200, endpoint: '/admin.users.session.list', api: 'admin' },
      });
    }
    const next = parsed.data.response_metadata?.next_cursor;
    return { sessions: parsed.data.active_sessions, nextCursor: typeof next === 'string' && next !== '' ? next : undefined };
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /** POST a JSON body (the token must then be in Authorization: Bearer, §3). Returns the parsed ok:true body. */
  private async call(endpoint: string, payload: Record<string, unknown>): Promise<unknown> {
    let res: RawResponse;
    try {
      res = await this.http.send({
        method: 'POST',
        endpoint,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json; charset=utf-8', accept: 'application/json' },
        body: JSON.stringify(payload),
      });
    } catch (err) {
      if (err instanceof SlackAuditError) this.count(endpoint, err.code);
      throw err;
    }
    const parsed = parseJson(res.text);
    const env = parsed.ok ? webEnvelope.safeParse(parsed.value) : undefined;
    if (res.status >= 200 && res.status < 300 && env?.success && env.data.ok === true) {
      this.count(endpoint, 'ok');
      return parsed.ok ? parsed.value : undefined;
    }
    const extra: Record<string, unknown> = {};
    if (env?.success && env.data.needed !== undefined) extra.needed = env.data.needed;
    if (env?.success && env.data.provided !== undefined) extra.provided = env.data.provided;
    const err = classifyHttpFailure({
      api: 'admin',
      endpoint,
      httpStatus: res.status,
      retryAfter: headerValue(res.headers, 'retry-after'),
      slackError: env?.success ? env.data.error : undefined,
      bodyWasJson: parsed.ok,
      extra,
    });
    this.count(endpoint, err.code);
    if (err.code === 'SLACK_AUDIT_SLACK_RATE_LIMITED') metrics.slackRateLimited.inc({ source: SOURCE_LABEL, endpoint });
    throw err;
  }

  private count(endpoint: string, outcome: string): void {
    metrics.slackRequests.inc({ source: SOURCE_LABEL, endpoint, outcome });
  }
}
