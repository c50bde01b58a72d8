import { metrics } from '../observe/metrics.js';
import { allDeadLetters, deleteDeadLetters, listDeadLetters, writeDeadLetters, type DeadLetterHit, type DeadLetterInput } from './dead-letter.js';
import { indexRawEntries, type IngestDeps } from './ingest-batch.js';

/**
 * `dlq replay`: re-normalize and re-write dead-lettered entries through the same path as fresh ones
 * (indexRawEntries). A record is deleted only once its event is indexed (created, or already present);
 * otherwise it stays, with one more attempt and the new error.
 */
export interface ReplayOptions {
  ids?: string[];
  all?: boolean;
}

export interface ReplayItem {
  id: string;
  entryId?: string | undefined;
  outcome: 'indexed' | 'duplicate' | 'failed' | 'retry-later' | 'skipped' | 'missing';
  error?: string;
}

export interface ReplayReport {
  indexed: number;
  duplicates: number;
  failed: number;
  skipped: number;
  missing: number;
  items: ReplayItem[];
}

function parseRaw(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

async function replayPage(hits: DeadLetterHit[], deps: IngestDeps, report: ReplayReport): Promise<void> {
  const entries = hits.filter((h) => h.record.dlq.kind === 'entry');
  for (const h of hits) if (h.record.dlq.kind !== 'entry') report.items.push({ id: h.id, outcome: 'skipped', error: 'job payload records cannot be replayed' });
  report.skipped += hits.length - entries.length;
  // Group by source so each entry is normalized with its own source id.
  const bySource = new Map<string, DeadLetterHit[]>();
  for (const h of entries) bySource.set(h.record.dlq.source_id, [...(bySource.get(h.record.dlq.source_id) ?? []), h]);
  for (const [source, group] of bySource) {
    const raws = group.map((h) => parseRaw(h.record.dlq.raw));
    const outcomes = await indexRawEntries(
      raws.map((r) => (r.ok ? r.value : undefined)),
      source,
      deps,
    );
    const done: string[] = [];
    const again: DeadLetterInput[] = [];
    for (const o of outcomes) {
      const hit = group[o.position] as DeadLetterHit;
      const entryId = hit.record.dlq.entry_id;
      const raw = raws[o.position]?.ok ? (raws[o.position] as { value: unknown }).value : hit.record.dlq.raw;
      if (o.status === 'created' || o.status === 'duplicate') {
        done.push(hit.id);
        if (o.status === 'created') report.indexed++;
        else report.duplicates++;
        metrics[o.status === 'created' ? 'eventsIndexed' : 'eventsDeduplicated'].inc({ source });
        report.items.push({ id: hit.id, entryId, outcome: o.status === 'created' ? 'indexed' : 'duplicate' });
      } else if (o.status === 'retryable') {
        report.failed++;
        report.items.push({ id: hit.id, entryId, outcome: 'retry-later', error: o.message });
      } else {
        // invalid or rejected: keep the record with the new error.
        report.failed++;
        report.items.push({ id: hit.id, entryId, outcome: 'failed', error: o.message });
        again.push({
          kind: 'entry',
          stage: o.status === 'invalid' ? 'validate' : 'index',
          reason: o.reason,
          message: o.message,
          raw,
          sourceId: source,
          entryId,
          action: o.action,
          ...(o.status === 'rejected' ? { targetIndex: o.index } : {}),
          attempts: 1,
        });
      }
    }
    // Same deterministic id -> the existing record is updated (attempts + 1), not duplicated.
    await writeDeadLetters(deps.es, deps.config, again, deps.now?.());
    await deleteDeadLetters(deps.es, deps.config, done);
  }
}

export async function replayDeadLetters(deps: IngestDeps, options: ReplayOptions): Promise<ReplayReport> {
  const report: ReplayReport = { indexed: 0, duplicates: 0, failed: 0, skipped: 0, missing: 0, items: [] };
  if (options.ids && options.ids.length > 0) {
    const hits = await listDeadLetters(deps.es, deps.config, { ids: options.ids });
    const found = new Set(hits.map((h) => h.id));
    for (const id of options.ids) {
      if (!found.has(id)) {
        report.missing++;
        report.items.push({ id, outcome: 'missing' });
      }
    }
    if (hits.length > 0) await replayPage(hits, deps, report);
    return report;
  }
  if (options.all) {
    // Collect first, then replay: replay deletes and updates records, which would shift a live search_after.
    const hits: DeadLetterHit[] = [];
    for await (const page of allDeadLetters(deps.es, deps.config)) hits.push(...page);
    for (let i = 0; i < hits.length; i += 500) await replayPage(hits.slice(i, i + 500), deps, report);
  }
  return report;
}
