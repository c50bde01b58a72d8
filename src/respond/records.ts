import type { Client } from '@elastic/elasticsearch';
import type { Logger } from '../observe/logger.js';
import { scrubSecrets } from '../observe/secrets.js';
import type { ActionJobV1, ActionOutcome } from './types.js';

/**
 * Action records: one document per action in `slack-audit-actions-<ns>` (`_id` = the idempotency key, so a
 * re-recorded outcome overwrites itself), and a summary appended to the alert's `slack.alert.actions`.
 */
export interface ActionRecordDoc extends Record<string, unknown> {
  '@timestamp': string;
  event: Record<string, unknown>;
  slack: { action: Record<string, unknown> };
}

const OUTCOME_ECS: Record<ActionOutcome, 'success' | 'failure' | 'unknown'> = {
  executed: 'success',
  dry_run: 'unknown',
  skipped_protected: 'unknown',
  skipped_cooldown: 'unknown',
  skipped_cap: 'unknown',
  skipped_already_reset: 'unknown',
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
      action: {
        id: job.key,
        type: job.action.type,
        index: job.actionIndex,
        outcome,
        mode,
        alert_id: job.alertId,
        ...(job.action.type === 'session_reset' ? { mobile_only: job.action.mobile_only, web_only: job.action.web_only } : {}),
        ...(Object.keys(detail).length > 0 ? { detail } : {}),
      },
    },
  };
  return scrubSecrets(doc);
}

export interface ActionRecorder {
  record(job: ActionJobV1, doc: ActionRecordDoc): Promise<void>;
}

/** Painless: add or replace this action's summary on the alert; flag the alert when a human must look. */
const ATTACH_SCRIPT = `
def a = ctx._source.slack.alert;
if (a.actions == null) { a.actions = new ArrayList(); }
boolean found = false;
for (int i = 0; i < a.actions.size(); i++) {
  if (a.actions[i].id == params.rec.id) { a.actions[i] = params.rec; found = true; }
}
if (!found) { a.actions.add(params.rec); }
if (params.attention) { a.response_status = 'attention'; } else if (a.response_status == null) { a.response_status = 'ok'; }
`;

export class EsActionRecorder implements ActionRecorder {
  constructor(
    private readonly es: Client,
    private readonly actionsIndex: string,
    private readonly alertsIndex: string,
    private readonly log: Logger,
  ) {}

  async record(job: ActionJobV1, doc: ActionRecordDoc): Promise<void> {
    await this.es.index({ index: this.actionsIndex, id: job.key, document: doc, refresh: false });
    const a = doc.slack.action;
    const outcome = a.outcome as ActionOutcome;
    const summary = { id: job.key, type: job.action.type, outcome, at: doc['@timestamp'], ...(a.detail ? { detail: a.detail } : {}) };
    try {
      await this.es.update({
        index: this.alertsIndex,
        id: job.alertId,
        retry_on_conflict: 5,
        script: { source: ATTACH_SCRIPT, lang: 'painless', params: { rec: summary, attention: outcome === 'failed' || outcome === 'uncertain' } },
      });
    } catch (err) {
      // The alert is written before its actions are enqueued; a missing one (deleted index) must not fail the action.
      if ((err as { meta?: { statusCode?: number } }).meta?.statusCode === 404) {
        this.log.warn({ alertId: job.alertId, key: job.key }, 'alert not found while attaching an action record');
        return;
      }
      throw err;
    }
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
