import { createHash } from 'node:crypto';
import type { AlertTarget } from '../rules/alerts.js';
import type { ActionSpec, Severity } from '../rules/schema.js';

/**
 * Contracts of the response side. The Slack clients are reached through these small interfaces
 * (SlackAdminClient and AuditLogsClient satisfy them structurally), so the guard logic is testable alone.
 */
export interface SessionResetter {
  resetSession(args: { userId: string; mobileOnly?: boolean; webOnly?: boolean }): Promise<void>;
}

/** Audit Logs lookup used to reconcile an intent whose outcome was never recorded (a crash mid-call). */
export interface AuditLogLookup {
  fetchPage(q: { oldest?: number; latest?: number; action?: string; entity?: string; limit?: number }): Promise<{ entries: readonly unknown[] }>;
}

export const ACTION_OUTCOMES = [
  'executed',
  'dry_run',
  'skipped_protected',
  'skipped_cooldown',
  'skipped_cap',
  'skipped_already_reset',
  'skipped_stale',
  'failed',
  'uncertain',
] as const;
export type ActionOutcome = (typeof ACTION_OUTCOMES)[number];

/** Payload of a job on QUEUES.actions. `v` lets a newer worker refuse a payload it does not understand. */
export interface ActionJobV1 {
  v: 1;
  /** Idempotency key = BullMQ job id = ES `_id` of the action record. */
  key: string;
  alertId: string;
  actionIndex: number;
  action: ActionSpec;
  rule: { id: string; name: string; severity: Severity; reference: string };
  target?: AlertTarget;
  alert: { firstSeen: string; lastSeen: string; count: number; groupKey: string; eventIds: string[] };
  sourceId?: string;
}

/** hash(alert id + action index + type): one key per alert and action, stable across replays. */
export function actionKey(alertId: string, index: number, type: string): string {
  return createHash('sha256').update(`${alertId}\n${index}\n${type}`).digest('hex').slice(0, 40);
}

export interface ActionResult {
  key: string;
  outcome: ActionOutcome;
  /** True when the outcome had already been recorded (a retry or replay of a finished action). */
  replayed: boolean;
  detail?: Record<string, unknown>;
}
