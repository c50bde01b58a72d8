import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** All metrics of the process, in one registry, with stable names (README "Metrics"). */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'slack_audit_process_' });

const r = [registry];
export const metrics = {
  slackRequests: new Counter({ name: 'slack_audit_slack_requests_total', help: 'Slack API requests by endpoint and outcome', labelNames: ['source', 'endpoint', 'outcome'], registers: r }),
  slackRateLimited: new Counter({ name: 'slack_audit_slack_rate_limited_total', help: '429 responses from Slack', labelNames: ['source', 'endpoint'], registers: r }),
  slackRetryAfterSeconds: new Counter({ name: 'slack_audit_slack_retry_after_seconds_total', help: 'Seconds waited because of Retry-After', labelNames: ['source'], registers: r }),
  eventsFetched: new Counter({ name: 'slack_audit_events_fetched_total', help: 'Entries read from the Audit Logs API', labelNames: ['source', 'kind'], registers: r }),
  eventsIndexed: new Counter({ name: 'slack_audit_events_indexed_total', help: 'Events newly written to Elasticsearch', labelNames: ['source'], registers: r }),
  eventsDeduplicated: new Counter({ name: 'slack_audit_events_deduplicated_total', help: 'Events already present in Elasticsearch (409 on create)', labelNames: ['source'], registers: r }),
  eventsDeadLettered: new Counter({ name: 'slack_audit_events_dead_lettered_total', help: 'Entries written to the dead-letter index', labelNames: ['source', 'reason'], registers: r }),
  lagSeconds: new Gauge({ name: 'slack_audit_lag_seconds', help: 'Now minus date_create of the newest event indexed, per source', labelNames: ['source'], registers: r }),
  endToEndLagSeconds: new Histogram({ name: 'slack_audit_end_to_end_lag_seconds', help: 'Fetch-to-indexed delay of a batch', labelNames: ['source'], buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900], registers: r }),
  watermark: new Gauge({ name: 'slack_audit_watermark_seconds', help: 'Collector watermark (Unix seconds) per source', labelNames: ['source'], registers: r }),
  queueDepth: new Gauge({ name: 'slack_audit_queue_depth', help: 'Jobs per queue and state', labelNames: ['queue', 'state'], registers: r }),
  jobDuration: new Histogram({ name: 'slack_audit_job_duration_seconds', help: 'Job processing time', labelNames: ['queue', 'outcome'], buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120], registers: r }),
  ruleEvaluations: new Counter({ name: 'slack_audit_rule_evaluations_total', help: 'Events evaluated by rules', labelNames: ['rule'], registers: r }),
  alerts: new Counter({ name: 'slack_audit_alerts_total', help: 'Alerts raised or updated', labelNames: ['rule', 'severity'], registers: r }),
  responseActions: new Counter({ name: 'slack_audit_response_actions_total', help: 'Response actions by type and outcome', labelNames: ['action', 'outcome'], registers: r }),
  errors: new Counter({ name: 'slack_audit_errors_total', help: 'Errors by stable code', labelNames: ['code'], registers: r }),
};
