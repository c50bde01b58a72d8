import type { Client } from '@elastic/elasticsearch';
import type { Config } from '../config/schema.js';
import { names } from '../config/load.js';

export interface DemoSummary {
  namespace: string;
  events: { total: number; byAction: { action: string; count: number }[] };
  alerts: { id: string; rule: string; severity: string; user: string | null; count: number; eventIds: string[] }[];
  actions: { id: string; action: string; user: string | null; outcome: string; error: string | null; alertId: string | null }[];
  simulator: { events: number; adminCalls: number; retryAfterIgnored: number } | null;
}

interface Hit {
  _id?: string;
  _source?: Record<string, unknown>;
}

function get(doc: Record<string, unknown> | undefined, path: string): unknown {
  let cur: unknown = doc;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    const obj = cur as Record<string, unknown>;
    // Documents may hold dotted keys as well as nested objects.
    if (key in obj) cur = obj[key];
    else return undefined;
  }
  return cur;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);

/** What landed in Elasticsearch, read back from ES itself (the summary never trusts in-process counters). */
export async function readSummary(es: Client, config: Config): Promise<Omit<DemoSummary, 'simulator'>> {
  const n = names(config);
  await es.indices.refresh({ index: [n.eventsAlias, n.alertsIndex, n.actionsIndex].join(','), ignore_unavailable: true, allow_no_indices: true });
  const total = (await es.count({ index: n.eventsAlias, ignore_unavailable: true, allow_no_indices: true })).count;
  const agg = await es.search({
    index: n.eventsAlias,
    size: 0,
    ignore_unavailable: true,
    allow_no_indices: true,
    aggs: { a: { terms: { field: 'event.action', size: 500 } } },
  });
  const buckets = ((agg.aggregations?.a as { buckets?: { key: string; doc_count: number }[] } | undefined)?.buckets ?? []).map((b) => ({ action: b.key, count: b.doc_count }));
  const alertHits = await es.search({ index: n.alertsIndex, size: 200, ignore_unavailable: true, allow_no_indices: true, sort: [{ '@timestamp': 'asc' }] });
  const alerts = (alertHits.hits.hits as Hit[]).map((h) => {
    const s = h._source;
    const ids = get(s, 'slack.alert.event_ids');
    return {
      id: h._id ?? '',
      rule: str(get(s, 'rule.name')) ?? str(get(s, 'rule.id')) ?? '?',
      severity: str(get(s, 'event.severity_label')) ?? str(get(s, 'slack.alert.severity')) ?? str(get(s, 'event.severity')) ?? '?',
      user: str(get(s, 'user.target.id')) ?? str(get(s, 'user.id')),
      count: Number(get(s, 'slack.alert.count') ?? 1),
      eventIds: Array.isArray(ids) ? ids.map(String) : [],
    };
  });
  const actionHits = await es.search({ index: n.actionsIndex, size: 500, ignore_unavailable: true, allow_no_indices: true, sort: [{ '@timestamp': 'asc' }] });
  const actions = (actionHits.hits.hits as Hit[]).map((h) => {
    const s = h._source;
    return {
      id: h._id ?? '',
      action: str(get(s, 'slack.response.action')) ?? '?',
      user: str(get(s, 'slack.response.user_id')) ?? str(get(s, 'user.target.id')),
      outcome: str(get(s, 'slack.response.outcome')) ?? str(get(s, 'event.outcome')) ?? '?',
      error: str(get(s, 'slack.response.error')),
      alertId: str(get(s, 'slack.response.alert_id')),
    };
  });
  return { namespace: config.namespace, events: { total, byAction: buckets }, alerts, actions };
}

export function renderSummary(s: DemoSummary, config: Config): string {
  const n = names(config);
  const lines: string[] = [];
  const es = config.elasticsearch.url;
  lines.push('', '=== slack-audit demo: summary (read back from Elasticsearch) ===', '');
  lines.push(`events indexed: ${s.events.total}${s.simulator ? ` (simulator produced ${s.simulator.events}; requests that ignored Retry-After: ${s.simulator.retryAfterIgnored})` : ''}`);
  lines.push('', 'events per action (top 15):');
  for (const b of s.events.byAction.slice(0, 15)) lines.push(`  ${String(b.count).padStart(7)}  ${b.action}`);
  lines.push('', `alerts: ${s.alerts.length} (by rule)`);
  const byRule = new Map<string, { severity: string; count: number }>();
  for (const a of s.alerts) byRule.set(a.rule, { severity: a.severity, count: (byRule.get(a.rule)?.count ?? 0) + 1 });
  for (const [rule, v] of [...byRule.entries()].sort((x, y) => y[1].count - x[1].count)) lines.push(`  ${String(v.count).padStart(5)}  [${v.severity}] ${rule}`);
  // The alerts that led to a response (the attack story), with the events that triggered them.
  const responded = new Set(s.actions.map((a) => a.alertId));
  const detailed = s.alerts.filter((a) => responded.has(a.id));
  if (detailed.length > 0) lines.push('', 'alerts with automated responses, and their triggering events:');
  for (const a of detailed) {
    lines.push(`  [${a.severity}] ${a.rule} — user ${a.user ?? '-'} — ${a.count} event(s)`);
    lines.push(`      events: ${a.eventIds.slice(0, 4).join(', ')}${a.eventIds.length > 4 ? `, … (${a.eventIds.length} listed in slack.alert.event_ids)` : ''}`);
  }
  const performed = s.actions.filter((a) => a.outcome === 'executed');
  const other = s.actions.filter((a) => a.outcome !== 'executed');
  lines.push('', `responses performed: ${performed.length}`);
  for (const a of performed) lines.push(`  ${a.action} ${a.user ?? '-'} → executed`);
  lines.push(`responses skipped or failed: ${other.length}`);
  for (const a of other) lines.push(`  ${a.action} ${a.user ?? '-'} → ${a.outcome}${a.error ? ` (${a.error})` : ''}`);
  lines.push('', 'try these queries:');
  lines.push(`  curl -s '${es}/${n.eventsAlias}/_search?q=event.action:anomaly&size=3&pretty'`);
  lines.push(`  curl -s '${es}/${n.eventsAlias}/_count?q=event.action:file_downloaded'`);
  lines.push(`  curl -s -H 'Content-Type: application/json' '${es}/${n.eventsAlias}/_search?size=0&pretty' -d '{"aggs":{"countries":{"terms":{"field":"source.geo.country_iso_code"}}}}'`);
  lines.push(`  curl -s '${es}/${n.alertsIndex}/_search?pretty&sort=@timestamp:desc'`);
  lines.push(`  curl -s '${es}/${n.actionsIndex}/_search?pretty&q=slack.response.outcome:executed'`);
  lines.push('', 'how to point this at your real Slack org:');
  lines.push('  1. Create a Slack app, add the user scope auditlogs:read (and admin.users:write for resets), and install it on the');
  lines.push('     Enterprise organization as an org Owner. Copy the xoxp- user token.');
  lines.push('  2. export SLACK_AUDIT_TOKEN=xoxp-…  (and SLACK_ADMIN_TOKEN=xoxp-… for responses)');
  lines.push('     export REDIS_URL=redis://…  ELASTICSEARCH_URL=https://…  ELASTICSEARCH_API_KEY=…');
  lines.push('  3. slack-audit setup && slack-audit run        # responses stay dry-run until SLACK_AUDIT_RESPONSES=enforce');
  lines.push('  4. slack-audit status                          # watermark, lag, queues, alerts');
  lines.push('');
  return lines.join('\n');
}
