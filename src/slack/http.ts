import { Pool, type Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { classifyTransportError, type SlackApi } from './classify.js';

/**
 * The HTTP part shared by both Slack clients: one keep-alive undici Pool per client with explicit connect,
 * headers and body timeouts, plus an overall deadline per request. It only moves bytes; deciding what a
 * status or body means is classify.ts's job.
 */

export interface SlackHttpOptions {
  baseUrl: string;
  timeoutMs?: number | undefined;
  /** Injected dispatcher (tests: undici MockAgent). The caller owns it; close() leaves it open. */
  dispatcher?: Dispatcher | undefined;
  connections?: number | undefined;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface SendRequest {
  method: 'GET' | 'POST';
  /** Endpoint path relative to the base URL, e.g. `/logs` or `/admin.users.session.reset`. */
  endpoint: string;
  query?: URLSearchParams | undefined;
  headers: Record<string, string>;
  body?: string | undefined;
  signal?: AbortSignal | undefined;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export class SlackHttp {
  readonly origin: string;
  readonly basePath: string;
  readonly timeoutMs: number;
  private readonly dispatcher: Dispatcher;
  private readonly owned: boolean;

  constructor(
    private readonly api: SlackApi,
    opts: SlackHttpOptions,
  ) {
    const url = new URL(opts.baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (opts.dispatcher) {
      this.dispatcher = opts.dispatcher;
      this.owned = false;
    } else {
      this.dispatcher = new Pool(this.origin, {
        connections: opts.connections ?? 4,
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 120_000,
        connect: { timeout: Math.min(this.timeoutMs, 10_000) },
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      this.owned = true;
    }
  }

  /** One request, no retries. Transport failures become typed, retryable SlackAuditErrors. */
  async send(req: SendRequest): Promise<RawResponse> {
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, deadline]) : deadline;
    const qs = req.query && req.query.size > 0 ? `?${req.query.toString()}` : '';
    try {
      const res = await this.dispatcher.request({
        origin: this.origin,
        path: `${this.basePath}${req.endpoint}${qs}`,
        method: req.method,
        headers: req.headers,
        body: req.body ?? null,
        signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, text };
    } catch (err) {
      throw classifyTransportError(this.api, req.endpoint, err, { timedOut: deadline.aborted, aborted: signal.aborted });
    }
  }

  async close(): Promise<void> {
    if (this.owned) await this.dispatcher.close();
  }
}

/** JSON.parse that reports failure instead of throwing; the result is `unknown` and must go through zod. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
