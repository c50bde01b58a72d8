import { SlackAuditError, type ErrorCode } from '../errors.js';

/**
 * The ONE place that decides whether a Slack failure is retryable, rate limited, or fatal.
 * Both clients (Audit Logs and admin) call these functions; nothing else inspects Slack error strings.
 * Facts: ../shared/slack-api.md §1.8 (Audit Logs errors), §1.9 (429 + Retry-After), §3.1 (admin retry table).
 *
 * Error details always carry `{ slackError, httpStatus, endpoint }` and never the token (the token only ever
 * travels in the Authorization header, which is never copied into an error).
 */

export type SlackApi = 'audit' | 'admin';

/** Used when a 429 carries no usable Retry-After: Slack's SDKs fall back to roughly this much. */
export const DEFAULT_RETRY_AFTER_SECONDS = 30;

/** Audit Logs errors that are about the token, the plan or the config: retrying cannot help (§1.8). */
const FATAL_ERRORS = new Set([
  'invalid_authentication',
  'missing_authentication',
  'feature_not_enabled',
  'team_not_authorized',
  'user_not_authorized',
  'invalid_action',
  'bad_endpoint',
  'invalid_workspace',
  'method_not_allowed',
  // Web API generic auth errors, in case they turn up on the Audit Logs API (§1.8 last bullet).
  'not_authed',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'missing_scope',
  'no_permission',
  'not_allowed_token_type',
  'not_an_admin',
  'team_access_not_granted',
  'org_login_required',
  'ekm_access_denied',
  'enterprise_is_restricted',
  'two_factor_setup_required',
  'access_denied',
]);

/** Transient server-side errors that a later retry can fix (§3.1 retry policy). */
const RETRYABLE_ERRORS = new Set([
  'user_session_reset_failed',
  'internal_error',
  'service_unavailable',
  'request_timeout',
  'fatal_error',
  'session_invalidation_failed',
]);

const RATE_LIMITED_ERRORS = new Set(['ratelimited', 'rate_limited']);

/**
 * Parse a Retry-After header: delta seconds (Slack's form) or an HTTP date. Missing, negative or
 * garbled values give the default, so a 429 never turns into an immediate hot retry.
 */
export function parseRetryAfter(header: string | string[] | undefined, nowMs: number = Date.now()): number {
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw === undefined) return DEFAULT_RETRY_AFTER_SECONDS;
  const text = raw.trim();
  if (/^\d+(\.\d+)?$/.test(text)) {
    const seconds = Number(text);
    return Number.isFinite(seconds) ? Math.max(0, Math.ceil(seconds)) : DEFAULT_RETRY_AFTER_SECONDS;
  }
  const date = Date.parse(text);
  if (!Number.isNaN(date) && /[a-z]/i.test(text)) return Math.max(0, Math.ceil((date - nowMs) / 1000));
  return DEFAULT_RETRY_AFTER_SECONDS;
}

export interface HttpFailure {
  api: SlackApi;
  endpoint: string;
  httpStatus: number;
  retryAfter?: string | string[] | undefined;
  /** The `error` string of a JSON body, when there was one. */
  slackError?: string | undefined;
  /** False when the body was not JSON (an HTML page from a proxy, a truncated body...). */
  bodyWasJson: boolean;
  /** Extra safe details (e.g. `needed`/`provided` on missing_scope). */
  extra?: Record<string, unknown>;
}

function make(code: ErrorCode, message: string, retryable: boolean, f: HttpFailure, retryAfterSeconds?: number): SlackAuditError {
  return new SlackAuditError(code, message, {
    retryable,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    details: { slackError: f.slackError ?? null, httpStatus: f.httpStatus, endpoint: f.endpoint, api: f.api, ...f.extra },
  });
}

/**
 * Classify a response that was not a success: a non-2xx status, a body with `ok:false`/`error`, or a body
 * that is not the expected JSON. Order matters: 429 first (Slack keys rate limiting on the status, and the
 * two spellings of the error string both occur), then the error string, then the status.
 */
export function classifyHttpFailure(f: HttpFailure): SlackAuditError {
  const where = `${f.api === 'audit' ? 'Audit Logs' : 'Slack admin'} ${f.endpoint}`;
  const err = f.slackError;
  if (f.httpStatus === 429 || (err !== undefined && RATE_LIMITED_ERRORS.has(err))) {
    const seconds = parseRetryAfter(f.retryAfter);
    return make('SLACK_AUDIT_SLACK_RATE_LIMITED', `${where}: rate limited (HTTP ${f.httpStatus}), retry after ${seconds}s`, true, f, seconds);
  }
  if (err !== undefined) {
    if (err === 'invalid_cursor') {
      // Retrying the same cursor fails again: the caller restarts the window from its checkpoint.
      return make('SLACK_AUDIT_SLACK_INVALID_CURSOR', `${where}: invalid_cursor (restart the window from its checkpoint)`, false, f);
    }
    if (err === 'invalid_range') {
      return make('SLACK_AUDIT_SLACK_INVALID_RANGE', `${where}: invalid_range (oldest/latest before the org's audit history or in the future)`, false, f);
    }
    if (f.httpStatus >= 500) {
      const code: ErrorCode = f.api === 'admin' ? 'SLACK_AUDIT_SLACK_RETRYABLE' : 'SLACK_AUDIT_SLACK_SERVER';
      return make(code, `${where}: server error ${err} (HTTP ${f.httpStatus})`, true, f);
    }
    if (RETRYABLE_ERRORS.has(err)) {
      return make('SLACK_AUDIT_SLACK_RETRYABLE', `${where}: transient Slack error ${err} (HTTP ${f.httpStatus})`, true, f);
    }
    if (f.api === 'admin') {
      // §3.1: everything not in the retry table is terminal for this call (cannot_reset_primary_owner, ...).
      const auth = FATAL_ERRORS.has(err);
      return make('SLACK_AUDIT_SLACK_TERMINAL', `${where}: ${err}${auth ? ' (token/scope/plan problem)' : ''}`, false, { ...f, extra: { ...f.extra, authFailure: auth } });
    }
    // Audit Logs: auth/scope/plan/config errors and any other unknown 4xx/200 error: fatal for the source,
    // reported loudly and never retried in a hot loop.
    return make('SLACK_AUDIT_SLACK_FATAL', `${where}: ${err} (HTTP ${f.httpStatus}); fatal for this source`, false, f);
  }
  if (f.httpStatus >= 500) {
    const code: ErrorCode = f.api === 'admin' ? 'SLACK_AUDIT_SLACK_RETRYABLE' : 'SLACK_AUDIT_SLACK_SERVER';
    return make(code, `${where}: HTTP ${f.httpStatus}${f.bodyWasJson ? '' : ' with a non-JSON body'}`, true, f);
  }
  // Checked before the body shape: a dead token must not turn into a retry loop just because the 401 had no JSON.
  if (f.httpStatus === 401 || f.httpStatus === 403) {
    const code: ErrorCode = f.api === 'admin' ? 'SLACK_AUDIT_SLACK_TERMINAL' : 'SLACK_AUDIT_SLACK_FATAL';
    return make(code, `${where}: HTTP ${f.httpStatus} (authentication/authorization)`, false, { ...f, extra: { ...f.extra, authFailure: true } });
  }
  if (!f.bodyWasJson || (f.httpStatus >= 200 && f.httpStatus < 300)) {
    // A proxy's HTML page, a truncated body, or JSON that is not the expected envelope.
    return make('SLACK_AUDIT_SLACK_BAD_BODY', `${where}: unexpected response body (HTTP ${f.httpStatus})`, true, f);
  }
  const code: ErrorCode = f.api === 'admin' ? 'SLACK_AUDIT_SLACK_TERMINAL' : 'SLACK_AUDIT_SLACK_FATAL';
  return make(code, `${where}: HTTP ${f.httpStatus} without a Slack error string`, false, f);
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * Classify an error thrown before a complete response arrived (DNS, refused, reset, timeouts, aborts).
 * All of these are retryable; a caller-initiated abort is reported as NETWORK with `details.aborted`.
 */
export function classifyTransportError(api: SlackApi, endpoint: string, err: unknown, opts: { timedOut: boolean; aborted: boolean }): SlackAuditError {
  const code = typeof (err as { code?: unknown } | null)?.code === 'string' ? (err as { code: string }).code : undefined;
  const name = err instanceof Error ? err.name : undefined;
  const details = { slackError: null, httpStatus: 0, endpoint, api, transportCode: code ?? name ?? null };
  const where = `${api === 'audit' ? 'Audit Logs' : 'Slack admin'} ${endpoint}`;
  if (opts.aborted && !opts.timedOut) {
    return new SlackAuditError('SLACK_AUDIT_SLACK_NETWORK', `${where}: request aborted`, { retryable: true, cause: err, details: { ...details, aborted: true } });
  }
  if (opts.timedOut || (code !== undefined && TIMEOUT_CODES.has(code)) || name === 'TimeoutError') {
    return new SlackAuditError('SLACK_AUDIT_SLACK_TIMEOUT', `${where}: request timed out`, { retryable: true, cause: err, details });
  }
  const message = err instanceof Error ? err.message : 'unknown transport error';
  return new SlackAuditError('SLACK_AUDIT_SLACK_NETWORK', `${where}: network error: ${message}`, { retryable: true, cause: err, details });
}
