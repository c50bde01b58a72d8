import { SlackAuditError, isSlackAuditError } from '../errors.js';
import type { RateBudget } from '../collect/rate-budget.js';
import type { AuditLogLookup } from './types.js';

type Fetch = AuditLogLookup['fetchPage'];

/**
 * The responder's audit-log lookups spend the same org-wide budget as the collector, and honour the same
 * Retry-After pause: Slack's Audit Logs limit is per organization, so an uncoordinated caller would both
 * steal budget from collection and send requests inside an announced Retry-After window.
 */
export class BudgetedAuditLookup implements AuditLogLookup {
  constructor(
    private readonly fetch: Fetch,
    private readonly budget: RateBudget,
    private readonly maxWaitMs = 30_000,
  ) {}

  async fetchPage(q: Parameters<Fetch>[0]): ReturnType<Fetch> {
    const lease = await this.budget.acquire('live', AbortSignal.timeout(this.maxWaitMs + 1000), this.maxWaitMs);
    if (lease === null) {
      throw new SlackAuditError('SLACK_AUDIT_SLACK_RATE_LIMITED', 'Audit Logs budget exhausted or paused; lookup deferred', { retryable: true, retryAfterSeconds: Math.ceil(this.maxWaitMs / 1000) });
    }
    try {
      return await this.fetch(q);
    } catch (err) {
      if (isSlackAuditError(err) && err.code === 'SLACK_AUDIT_SLACK_RATE_LIMITED') await this.budget.pause(err.retryAfterSeconds ?? 30);
      throw err;
    } finally {
      await this.budget.release(lease);
    }
  }
}
