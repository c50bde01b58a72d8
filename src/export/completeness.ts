import type { Completeness, SourceCompleteness } from './types.js';

/**
 * The completeness statement of a manifest: did the collector read (and queue) the whole requested range for
 * each source? The collector publishes its coverage from src/collect/coverage.ts; this module only needs the
 * numbers, behind a small interface so it stays a pure function (and testable without Redis).
 */
export interface Coverage {
  /** Unix seconds: [from, to] was continuously collected and queued (null when nothing was collected). */
  from: number | null;
  to: number | null;
  /** Ingest jobs queued but maybe not yet indexed. */
  pendingIngestJobs: number;
  /** Sub-ranges inside [from, to] that were not collected, Unix seconds, both ends inclusive. */
  gaps: Array<[number, number]>;
}

/** Reads one source's coverage (the command wires this to readCoverage(redis, config, sourceId)). */
export type CoverageReader = (sourceId: string) => Promise<Coverage>;

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

/**
 * The seconds an export range touches: from is inclusive, to is exclusive, both in ms. Returns inclusive
 * whole seconds [first, last], the unit the collector works in (Slack's date_create is in seconds).
 */
export function neededSeconds(fromMs: number, toMs: number): [number, number] {
  return [Math.floor(fromMs / 1000), Math.ceil(toMs / 1000) - 1];
}

/** Sub-ranges of [lo, hi] (inclusive seconds) not covered by the coverage, merged and sorted. */
export function missingRanges(lo: number, hi: number, cov: Coverage): Array<[number, number]> {
  if (hi < lo) return [];
  if (cov.from === null || cov.to === null || cov.to < cov.from) return [[lo, hi]];
  const holes: Array<[number, number]> = [];
  if (lo < cov.from) holes.push([lo, Math.min(hi, cov.from - 1)]);
  if (hi > cov.to) holes.push([Math.max(lo, cov.to + 1), hi]);
  for (const [a, b] of cov.gaps) {
    const s = Math.max(a, lo);
    const e = Math.min(b, hi);
    if (s <= e) holes.push([s, e]);
  }
  holes.sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const h of holes) {
    const last = merged[merged.length - 1];
    if (last && h[0] <= last[1] + 1) last[1] = Math.max(last[1], h[1]);
    else merged.push([h[0], h[1]]);
  }
  return merged;
}

export function sourceCompleteness(sourceId: string, fromMs: number, toMs: number, cov: Coverage): SourceCompleteness {
  const [lo, hi] = neededSeconds(fromMs, toMs);
  const missing = missingRanges(lo, hi, cov);
  const base = {
    source_id: sourceId,
    collected_from: cov.from === null ? null : iso(cov.from),
    collected_to: cov.to === null ? null : iso(cov.to),
    pending_ingest_jobs: cov.pendingIngestJobs,
    missing: missing.map(([a, b]) => ({ from: iso(a), to: iso(b) })),
  };
  const parts: string[] = [];
  if (missing.length > 0) {
    parts.push(`not yet collected: ${base.missing.map((m) => `${m.from} .. ${m.to}`).join(', ')}`);
  }
  if (cov.pendingIngestJobs > 0) parts.push(`${cov.pendingIngestJobs} ingest job(s) were still queued, so some collected events may not be indexed yet`);
  if (parts.length === 0) {
    return { ...base, status: 'complete', statement: `source ${sourceId}: the whole range was collected and indexed` };
  }
  return { ...base, status: 'incomplete', statement: `source ${sourceId}: ${parts.join('; ')}` };
}

function unknownSource(sourceId: string, reason: string): SourceCompleteness {
  return {
    source_id: sourceId,
    status: 'unknown',
    collected_from: null,
    collected_to: null,
    pending_ingest_jobs: null,
    missing: [],
    statement: `source ${sourceId}: completeness unknown (${reason})`,
  };
}

export async function buildCompleteness(
  sourceIds: readonly string[],
  fromMs: number,
  toMs: number,
  reader: CoverageReader | null,
): Promise<Completeness> {
  if (sourceIds.length === 0) {
    return { status: 'unknown', statement: 'no collector source is configured, so completeness cannot be stated', sources: [] };
  }
  const sources: SourceCompleteness[] = [];
  for (const id of sourceIds) {
    if (!reader) {
      sources.push(unknownSource(id, 'collector coverage is not available'));
      continue;
    }
    try {
      sources.push(sourceCompleteness(id, fromMs, toMs, await reader(id)));
    } catch (err) {
      sources.push(unknownSource(id, `reading coverage failed: ${(err as Error).message}`));
    }
  }
  const status = sources.some((s) => s.status === 'incomplete')
    ? 'incomplete'
    : sources.some((s) => s.status === 'unknown')
      ? 'unknown'
      : 'complete';
  const statement =
    status === 'complete'
      ? `every source (${sourceIds.join(', ')}) was fully collected and indexed for the whole range`
      : sources.filter((s) => s.status !== 'complete').map((s) => s.statement).join('; ');
  return { status, statement, sources };
}
