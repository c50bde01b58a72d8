/**
 * One error hierarchy for the whole pipeline. Every error has a stable `code` (never parse messages)
 * and says whether a retry can help. Retryable vs terminal is decided here and in slack/classify, nowhere else.
 */
export type ErrorCode =
  | 'SLACK_AUDIT_CONFIG_INVALID'
  | 'SLACK_AUDIT_RULE_INVALID'
  | 'SLACK_AUDIT_SLACK_RATE_LIMITED'
  | 'SLACK_AUDIT_SLACK_SERVER'
  | 'SLACK_AUDIT_SLACK_NETWORK'
  | 'SLACK_AUDIT_SLACK_TIMEOUT'
  | 'SLACK_AUDIT_SLACK_BAD_BODY'
  | 'SLACK_AUDIT_SLACK_INVALID_CURSOR'
  | 'SLACK_AUDIT_SLACK_INVALID_RANGE'
  | 'SLACK_AUDIT_SLACK_FATAL'
  | 'SLACK_AUDIT_SLACK_TERMINAL'
  | 'SLACK_AUDIT_SLACK_RETRYABLE'
  | 'SLACK_AUDIT_ENTRY_INVALID'
  | 'SLACK_AUDIT_NORMALIZE_FAILED'
  | 'SLACK_AUDIT_ES_UNAVAILABLE'
  | 'SLACK_AUDIT_ES_ITEM_REJECTED'
  | 'SLACK_AUDIT_ES_SETUP_FAILED'
  | 'SLACK_AUDIT_JOB_INVALID'
  | 'SLACK_AUDIT_EXPORT_INVALID'
  | 'SLACK_AUDIT_EXPORT_VERIFY_FAILED'
  | 'SLACK_AUDIT_RESPONSE_UNCERTAIN'
  | 'SLACK_AUDIT_KIBANA_IMPORT_FAILED'
  | 'SLACK_AUDIT_INTERNAL';

export interface SlackAuditErrorOptions {
  retryable?: boolean;
  /** Seconds the caller must wait before retrying (Slack's Retry-After). */
  retryAfterSeconds?: number;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class SlackAuditError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: SlackAuditErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SlackAuditError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: this.retryAfterSeconds }),
      details: this.details,
    };
  }
}

export class ConfigError extends SlackAuditError {
  /** Dotted paths of the bad keys, e.g. `sources.0.pollIntervalSeconds`. */
  readonly paths: string[];
  constructor(message: string, paths: string[], cause?: unknown) {
    super('SLACK_AUDIT_CONFIG_INVALID', message, { cause, details: { paths } });
    this.name = 'ConfigError';
    this.paths = paths;
  }
}

export function isSlackAuditError(err: unknown): err is SlackAuditError {
  return err instanceof SlackAuditError;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}
