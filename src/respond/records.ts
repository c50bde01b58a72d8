import type { Client } from '@elastic/elasticsearch';
import type { Logger } from '../observe/logger.js';
import { occUpsert } from '../sink/occ-upsert.js';
import { scrubSecrets } from '../observe/secrets.js';
import type { ActionJobV1, ActionOutcome } from './types.js';

/**
 * Action records: one document per action in `slack-audit-actions-<ns>` (`_id` = the idempotency key, so a
 * re-recorded outcome overwrites itself), and a summary appended to the alert's `slack.alert.actions`.
 */
export interface ActionRecordDoc extends Record<string, unknown> {
  '@timestamp': string;
  event: Record<string, unknown>;
  slack: { response: Record<string, unknown> };
}

const OUTCOME_ECS: Record<ActionOutcome, 'success' | 'failure' | 'unknown'> = {
  executed: 'success',
  dry_run: 'unknown',
  skipped_protected: 'unknown',
  skipped_cooldown: 'unknown',
  skipped_cap: 'unknown',
  skipped_already_reset: 'unknown',
  skipped_stale: 'unknown',
  failed: 'failure',
  uncertain: 'unknown',
};

export function buildActionRecord(job: ActionJobV1, outcome: ActionOutcome, at: number, detail: Record<string, unknown>, mode: string): ActionRecordDoc {
  const doc: ActionRecordDoc = {
    '@timestamp': new Date(at).toISOString(),
    event: { kind: 'event', id: job.key, action: job.action.type, category: ['iam'], type: ['change'], outcome: OUTCOME_ECS[outcome], module: 'slack', dataset: 'slack.audit.actions' },
    rule: { id: job.rule.id, name: job.rule.name },
    ...(job.target ? { user: { target: job.target } } : {}),
    slack: {
      response: {
        idempotency_key: job.key,
        action: job.action.type,
        index: job.actionIndex,
        outcome,
        mode,
        alert_id: job.alertId,
        ...(job.target ? { user_id: job.target.id } : {}),
        ...(typeof detail.slackError === 'string' ? { error: detail.slackError } : typeof detail.message === 'string' && outcome === 'failed' ? { error: detail.message } : {}),
        ...(job.action.type === 'session_reset' ? { mobile_only: job.action.mobile_only, web_only: job.action.web_only } : {}),
        ...(Object.keys(detail).length > 0 ? { details: detail } : {}),
      },
    },
  };
  return scrubSecrets(doc);
}

export interface ActionRecorder {
  record(job: ActionJobV1, doc: ActionRecordDoc): Promise<void>;
}

interface AlertWithActions {
  slack?: { alert?: { actions?: { id: string }[]; response_status?: string } };
}

/** Add or replace this action's summary on the alert; flag the alert when a human must look. */
export function attachActionSummary<T extends AlertWithActions>(alert: T, summary: { id: string }, attention: boolean): T {
  const a = (alert.slack ??= {}).alert ??= {};
  const list = (a.actions ??= []);
  const at = list.findIndex((x) => x.id === summary.id);
  if (at >= 0) list[at] = summary;
  else list.push(summary);
  if (attention) a.response_status = 'attention';
  else a.response_status ??= 'ok';
  return alert;
}

export class EsActionRecorder implements ActionRecorder {
  constructor(
    private readonly es: Client,
    private readonly actionsIndex: string,
    private readonly alertsIndex: string,
    private readonly log: Logger,
  ) {}

  async record(job: ActionJobV1, doc: ActionRecordDoc): Promise<void> {
    await this.es.index({ index: this.actionsIndex, id: job.key, document: doc, refresh: false });
    const r = doc.slack.response;
    const outcome = r.outcome as ActionOutcome;
    const summary = { id: job.key, type: job.action.type, outcome, at: doc['@timestamp'], ...(r.details ? { detail: r.details } : {}) };
    const res = await occUpsert<AlertWithActions>(this.es, this.alertsIndex, [job.alertId], (_id, current) =>
      // The alert is written before its actions are enqueued; a missing one (deleted index) must not fail the action.
      current === undefined ? null : attachActionSummary(current, summary, outcome === 'failed' || outcome === 'uncertain'),
    );
    if (res.get(job.alertId)?.doc === undefined) this.log.warn({ alertId: job.alertId, key: job.key }, 'alert not found while attaching an action record');
  }
}

/** Keeps records in memory (unit tests). */
export class MemoryActionRecorder implements ActionRecorder {
  readonly docs = new Map<string, ActionRecordDoc>();
  record(job: ActionJobV1, doc: ActionRecordDoc): Promise<void> {
    this.docs.set(job.key, doc);
    return Promise.resolve();
  }
}
