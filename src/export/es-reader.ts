import type { Client } from '@elastic/elasticsearch';
import { errors as esErrors } from '@elastic/elasticsearch';
import { SlackAuditError } from '../errors.js';
import { EXPORT_SORT, indicesForRange, invalid, sortKeyOf } from './build-query.js';
import type { SortKey } from './types.js';

/**
 * Reading an export from Elasticsearch: which indices, how many documents, and the documents themselves as
 * pages from a point-in-time with search_after (consistent view, stable order, no deep-paging limit).
 */

export interface ExportHit {
  source: Record<string, unknown>;
  sortKey: SortKey;
}

function esFailure(what: string, err: unknown): SlackAuditError {
  if (err instanceof SlackAuditError) return err;
  const retryable = err instanceof esErrors.ConnectionError || err instanceof esErrors.TimeoutError;
  return new SlackAuditError(retryable ? 'SLACK_AUDIT_ES_UNAVAILABLE' : 'SLACK_AUDIT_EXPORT_INVALID', `${what}: ${(err as Error).message}`, { cause: err, retryable });
}

/** Concrete event indices of the namespace that can hold events of the range (sorted), or a clear error. */
export async function resolveEventIndices(es: Client, pattern: string, prefix: string, from: Date, to: Date): Promise<string[]> {
  let all: string[];
  try {
    const res = await es.indices.resolveIndex({ name: pattern, expand_wildcards: 'open' });
    all = res.indices.map((i) => i.name);
  } catch (err) {
    throw esFailure(`cannot list event indices ${pattern}`, err);
  }
  if (all.length === 0) {
    throw invalid(`no events index matches ${pattern}: nothing was ever indexed for this namespace (wrong --config or namespace?)`, { pattern });
  }
  return indicesForRange(all, prefix, from, to);
}

export async function clusterInfo(es: Client): Promise<{ cluster_name: string | null; cluster_uuid: string | null }> {
  // `GET /` is not available on every ES build we support; health and state metadata are.
  const [health, state] = await Promise.allSettled([
    es.cluster.health({ filter_path: 'cluster_name' }),
    es.cluster.state({ metric: 'metadata', filter_path: 'metadata.cluster_uuid' }),
  ]);
  const name = health.status === 'fulfilled' ? health.value.cluster_name : null;
  const uuidRaw: unknown = state.status === 'fulfilled' ? (state.value as { metadata?: { cluster_uuid?: unknown } }).metadata?.cluster_uuid : null;
  return { cluster_name: typeof name === 'string' ? name : null, cluster_uuid: typeof uuidRaw === 'string' ? uuidRaw : null };
}

export interface PitReader {
  /** hits.total of the query inside the point-in-time. */
  count(): Promise<number>;
  /** Pages of hits after `after` (exclusive), in export order. */
  pages(after: SortKey | null, pageSize: number): AsyncGenerator<ExportHit[]>;
  close(): Promise<void>;
}

export async function openPitReader(es: Client, indices: readonly string[], query: Record<string, unknown>, keepAlive = '5m'): Promise<PitReader> {
  let pitId: string;
  try {
    // Events are searchable after the refresh interval; an export must see everything indexed before it starts.
    await es.indices.refresh({ index: indices.join(','), ignore_unavailable: true, allow_no_indices: true });
    pitId = (await es.openPointInTime({ index: indices.join(','), keep_alive: keepAlive })).id;
  } catch (err) {
    throw esFailure(`cannot open a point-in-time on ${indices.join(',')}`, err);
  }
  let closed = false;
  return {
    async count() {
      try {
        const res = await es.search({ pit: { id: pitId, keep_alive: keepAlive }, size: 0, track_total_hits: true, query });
        if (res.pit_id) pitId = res.pit_id;
        const total = res.hits.total;
        return typeof total === 'number' ? total : (total?.value ?? 0);
      } catch (err) {
        throw esFailure('counting the export failed', err);
      }
    },
    async *pages(after, pageSize) {
      let position = after;
      for (;;) {
        let res;
        try {
          res = await es.search<Record<string, unknown>>({
            pit: { id: pitId, keep_alive: keepAlive },
            size: pageSize,
            query,
            sort: EXPORT_SORT,
            track_total_hits: false,
            // Only our two sort values: resuming with a new PIT must not depend on the old PIT's _shard_doc.
            ...(position ? { search_after: [...position] } : {}),
          });
        } catch (err) {
          throw esFailure('reading the export page failed', err);
        }
        if (res.pit_id) pitId = res.pit_id;
        const hits = res.hits.hits;
        if (hits.length === 0) return;
        const page: ExportHit[] = hits.map((h) => ({ source: h._source ?? {}, sortKey: sortKeyOf(h.sort) }));
        position = (page[page.length - 1] as ExportHit).sortKey;
        yield page;
        if (hits.length < pageSize) return;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await es.closePointInTime({ id: pitId }).catch(() => undefined);
    },
  };
}
