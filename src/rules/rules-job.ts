import type { Client } from '@elastic/elasticsearch';
import type { Config } from '../config/schema.js';
import { withoutOriginal } from '../export/records.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import type { RulesJobV1 } from '../queue/jobs.js';
// The engine and the alert builder compile getters of their own (actor, target, organization, app id...).
import './engine.js';
import { compileRule } from './evaluate.js';
import { compiledFieldPaths, eventId, type EcsDocument } from './fields.js';
import { configuredRulePaths, loadRulesOrThrow } from './load.js';
import { FieldProjection, projectionCovers } from './projection.js';

/**
 * What the indexer puts on the rules queue, and how the rules worker gets whole documents back when it needs
 * more fields than a job carries (its rule pack changed before the indexers' did: a rolling deploy).
 */
export interface RulesJobBuilder {
  /** The projected paths, or undefined when jobs carry whole documents (minus event.original). */
  readonly fields: readonly string[] | undefined;
  build(sourceId: string, docs: readonly EcsDocument[]): RulesJobV1;
}

/** Jobs projected onto the configured rule pack's fields; whole documents if the pack cannot be loaded here. */
export function rulesJobBuilder(config: Config, log: Logger): RulesJobBuilder {
  let projection: FieldProjection | undefined;
  try {
    for (const { rule } of loadRulesOrThrow(configuredRulePaths(config))) compileRule(rule);
    projection = new FieldProjection(compiledFieldPaths());
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'rule pack not loadable in the indexer; rules jobs carry whole documents');
  }
  if (projection) {
    const p = projection;
    return { fields: p.paths, build: (sourceId, docs) => ({ v: 1, sourceId, fields: p.paths, events: docs.map((d) => p.project(d)) }) };
  }
  return { fields: undefined, build: (sourceId, docs) => ({ v: 1, sourceId, events: docs.map(withoutOriginal) }) };
}

/**
 * The job's documents, whole when this process' rules read a field the job's projection left out: fetched
 * from Elasticsearch by id (a refresh first, so that just-indexed documents are found). A document that cannot
 * be found (deleted by retention) is evaluated as projected, and said so.
 */
export async function documentsForRules(job: RulesJobV1, deps: { es: Client; eventsAlias: string; log: Logger }): Promise<readonly EcsDocument[]> {
  if (job.fields === undefined || projectionCovers(job.fields, compiledFieldPaths())) return job.events;
  const ids = job.events.map(eventId).filter((id): id is string => id !== undefined);
  await deps.es.indices.refresh({ index: deps.eventsAlias, ignore_unavailable: true, allow_no_indices: true });
  const res = await deps.es.search<EcsDocument>({ index: deps.eventsAlias, size: ids.length, query: { ids: { values: ids } }, _source_excludes: ['event.original'] });
  const byId = new Map<string, EcsDocument>();
  for (const hit of res.hits.hits) if (hit._source) byId.set(hit._id ?? '', hit._source);
  let missing = 0;
  const docs = job.events.map((d) => {
    const whole = byId.get(eventId(d) ?? '');
    if (whole === undefined) missing++;
    return whole ?? d;
  });
  deps.log.warn({ events: docs.length, missing, jobFields: job.fields.length }, 'rules job projected for another rule pack; evaluated whole documents from Elasticsearch');
  return docs;
}
