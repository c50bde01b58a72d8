import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { z } from 'zod';
import { PROJECT_ROOT, names } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { SlackAuditError, errorMessage } from '../errors.js';

/**
 * Elasticsearch layout: component templates + composable index templates (JSON in config/elasticsearch/),
 * one set per namespace, installed idempotently.
 *
 * Events live in concrete MONTHLY indices `logs-slack.audit-<ns>-YYYY.MM`, chosen by the event's own
 * `date_create` (UTC), never by arrival time, and all carry the read alias `logs-slack.audit-<ns>`. Because
 * the target index is a pure function of the event, `create` with `_id` = Slack id deduplicates forever:
 * a replay, a late event or a re-poll after a new month (or after someone rolls an alias over) lands in the
 * same index as the first copy and gets a 409. Data streams would route by arrival time through their write
 * index, so a duplicate arriving after a rollover would be accepted into the new backing index; and the slim
 * ES we test against has no data streams or ILM anyway. Retention = delete whole monthly indices.
 *
 * Our index template's priority (250) beats Elastic's built-in `logs` template (100, `logs-*-*`, which
 * would make a data stream), and it sets no `data_stream`, so our names stay regular indices.
 */
export const TEMPLATE_VERSION = 1;
const PRIORITY = 250;

const templateFileSchema = z.object({
  _meta: z.record(z.string(), z.unknown()).optional(),
  template: z.object({ mappings: z.record(z.string(), z.unknown()).optional(), settings: z.record(z.string(), z.unknown()).optional() }).loose(),
});
export type TemplateFile = z.infer<typeof templateFileSchema>;

export type LayoutPart = 'events' | 'alerts' | 'actions' | 'dlq';

const cache = new Map<string, TemplateFile>();
/** Read (once) and validate one template JSON file of config/elasticsearch/. */
export function loadTemplateFile(name: 'settings' | `${LayoutPart}-mappings`): TemplateFile {
  const hit = cache.get(name);
  if (hit) return structuredClone(hit);
  const file = resolve(PROJECT_ROOT, 'config', 'elasticsearch', `${name}.json`);
  let parsed: TemplateFile;
  try {
    parsed = templateFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (err) {
    throw new SlackAuditError('SLACK_AUDIT_INTERNAL', `cannot read Elasticsearch template ${file}: ${errorMessage(err)}`, { cause: err });
  }
  cache.set(name, parsed);
  return structuredClone(parsed);
}

/** The mappings object of one part (what put_mapping receives). */
export function partMappings(part: LayoutPart): Record<string, unknown> {
  return loadTemplateFile(`${part}-mappings`).template.mappings ?? {};
}

/** The monthly events index for an event created at `dateCreate` (Unix seconds), UTC. */
export function eventsIndexFor(config: Pick<Config, 'namespace' | 'redis'>, dateCreate: number): string {
  const d = new Date(dateCreate * 1000);
  return `${names(config).eventsIndexPrefix}${d.getUTCFullYear()}.${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

export interface TemplateNames {
  settingsComponent: string;
  components: Record<LayoutPart, string>;
  indexTemplates: Record<LayoutPart, string>;
}

export function templateNames(config: Pick<Config, 'namespace'>): TemplateNames {
  const ns = config.namespace;
  return {
    settingsComponent: `slack-audit-settings-${ns}`,
    components: {
      events: `slack-audit-events-mappings-${ns}`,
      alerts: `slack-audit-alerts-mappings-${ns}`,
      actions: `slack-audit-actions-mappings-${ns}`,
      dlq: `slack-audit-dlq-mappings-${ns}`,
    },
    indexTemplates: {
      events: `slack-audit-events-${ns}`,
      alerts: `slack-audit-alerts-${ns}`,
      actions: `slack-audit-actions-${ns}`,
      dlq: `slack-audit-dlq-${ns}`,
    },
  };
}

export interface InstallStep {
  kind: 'component_template' | 'index_template' | 'index' | 'mapping';
  name: string;
  result: 'put' | 'created' | 'exists' | 'updated' | 'none';
}

const meta = (description: string) => ({ managed_by: 'slack-audit', version: TEMPLATE_VERSION, description });

function isAlreadyExists(err: unknown): boolean {
  const body = (err as { meta?: { body?: { error?: { type?: string } } } }).meta?.body;
  return body?.error?.type === 'resource_already_exists_exception';
}

/**
 * Install or upgrade the whole layout for config.namespace. Safe to re-run: templates are PUT (last writer
 * wins, same content), indices are created only when missing, and existing indices get the current
 * mappings through put_mapping (additive changes apply; a type change fails loudly instead of silently).
 */
export async function installTemplates(es: Client, config: Config, now: Date = new Date()): Promise<InstallStep[]> {
  const n = names(config);
  const t = templateNames(config);
  const steps: InstallStep[] = [];
  const settings = loadTemplateFile('settings');
  const index = ((settings.template.settings ?? {}).index ?? {}) as Record<string, unknown>;
  index.number_of_shards = config.elasticsearch.shards;
  index.number_of_replicas = config.elasticsearch.replicas;
  await es.cluster.putComponentTemplate({ name: t.settingsComponent, template: { settings: { index } }, _meta: meta('slack-audit index settings') });
  steps.push({ kind: 'component_template', name: t.settingsComponent, result: 'put' });

  const parts: { part: LayoutPart; patterns: string[]; alias?: string; concrete: string[] }[] = [
    { part: 'events', patterns: [n.eventsPattern], alias: n.eventsAlias, concrete: [eventsIndexFor(config, Math.floor(now.getTime() / 1000))] },
    { part: 'alerts', patterns: [n.alertsIndex], concrete: [n.alertsIndex] },
    { part: 'actions', patterns: [n.actionsIndex], concrete: [n.actionsIndex] },
    { part: 'dlq', patterns: [n.dlqIndex], concrete: [n.dlqIndex] },
  ];
  for (const { part } of parts) {
    const file = loadTemplateFile(`${part}-mappings`);
    await es.cluster.putComponentTemplate({
      name: t.components[part],
      template: { mappings: file.template.mappings ?? {} },
      _meta: { ...meta(`slack-audit ${part} mappings`), ...(file._meta ?? {}) },
    });
    steps.push({ kind: 'component_template', name: t.components[part], result: 'put' });
  }
  for (const { part, patterns, alias } of parts) {
    await es.indices.putIndexTemplate({
      name: t.indexTemplates[part],
      index_patterns: patterns,
      priority: PRIORITY,
      composed_of: [t.settingsComponent, t.components[part]],
      ...(alias ? { template: { aliases: { [alias]: {} } } } : {}),
      _meta: meta(`slack-audit ${part} (namespace ${config.namespace})`),
    });
    steps.push({ kind: 'index_template', name: t.indexTemplates[part], result: 'put' });
  }

  for (const { part, patterns, concrete } of parts) {
    // Existing indices first get the current mappings (additive upgrade), then missing ones are created.
    const existing = await es.indices.get({ index: patterns.join(','), allow_no_indices: true, ignore_unavailable: true, expand_wildcards: 'open', filter_path: '*.settings.index.provided_name' });
    const existingNames = Object.keys(existing);
    if (existingNames.length > 0) {
      try {
        await es.indices.putMapping({ index: existingNames.join(','), ...partMappings(part) });
      } catch (err) {
        throw new SlackAuditError('SLACK_AUDIT_ES_SETUP_FAILED', `cannot update the mappings of ${existingNames.join(', ')}: ${errorMessage(err)} (a field changed type; reindex or delete the index, then re-run setup)`, {
          cause: err,
          details: { indices: existingNames },
        });
      }
      for (const name of existingNames) steps.push({ kind: 'mapping', name, result: 'updated' });
    }
    for (const name of concrete) {
      if (existingNames.includes(name)) {
        steps.push({ kind: 'index', name, result: 'exists' });
        continue;
      }
      try {
        await es.indices.create({ index: name });
        steps.push({ kind: 'index', name, result: 'created' });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        steps.push({ kind: 'index', name, result: 'exists' });
      }
    }
  }
  return steps;
}

/** True when the events index template of this namespace is installed (the indexer checks at start). */
export async function templatesInstalled(es: Client, config: Pick<Config, 'namespace'>): Promise<boolean> {
  return es.indices.existsIndexTemplate({ name: templateNames(config).indexTemplates.events });
}

/**
 * Delete whole monthly event indices that are entirely older than `elasticsearch.retentionMonths` months
 * before `now` (0 = keep forever). An index for month M is deleted when M < month(now) - retentionMonths,
 * so nothing younger than the retention period is ever deleted. Returns the deleted index names.
 */
export async function applyRetention(es: Client, config: Config, now: Date = new Date()): Promise<string[]> {
  const months = config.elasticsearch.retentionMonths;
  if (months <= 0) return [];
  const n = names(config);
  const rows = await es.cat.indices({ index: n.eventsPattern, h: 'index', format: 'json', expand_wildcards: ['open', 'closed'] });
  const cutoff = now.getUTCFullYear() * 12 + now.getUTCMonth() - months;
  const re = new RegExp(`^${n.eventsIndexPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\d{4})\\.(\\d{2})$`);
  const doomed: string[] = [];
  for (const row of rows) {
    const name = row.index ?? '';
    const m = re.exec(name);
    if (!m) continue;
    const month = Number(m[1]) * 12 + Number(m[2]) - 1;
    if (month < cutoff) doomed.push(name);
  }
  if (doomed.length > 0) await es.indices.delete({ index: doomed.join(','), ignore_unavailable: true });
  return doomed.sort();
}

/**
 * Remove every index and template of config.namespace (tests, and an explicit uninstall). Index names are
 * resolved first and deleted by name, because clusters refuse wildcard deletes by default.
 */
export async function removeLayout(es: Client, config: Pick<Config, 'namespace' | 'redis'>): Promise<string[]> {
  const n = names(config);
  const t = templateNames(config);
  const found = await es.indices.get({ index: [n.eventsPattern, n.alertsIndex, n.actionsIndex, n.dlqIndex].join(','), allow_no_indices: true, ignore_unavailable: true, expand_wildcards: ['open', 'closed'], filter_path: '*.settings.index.provided_name' });
  const indices = Object.keys(found);
  if (indices.length > 0) await es.indices.delete({ index: indices.join(','), ignore_unavailable: true });
  for (const name of Object.values(t.indexTemplates)) await es.indices.deleteIndexTemplate({ name }, { ignore: [404] });
  for (const name of [...Object.values(t.components), t.settingsComponent]) await es.cluster.deleteComponentTemplate({ name }, { ignore: [404] });
  return indices;
}
