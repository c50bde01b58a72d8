import { describe, expect, it } from 'vitest';
import { buildCompleteness, missingRanges, neededSeconds, sourceCompleteness } from '../../src/export/completeness.js';

describe('export completeness statement', () => {
  it('turns a [from, to) ms range into the inclusive seconds it touches', () => {
    expect(neededSeconds(1000_000, 2000_000)).toEqual([1000, 1999]);
    expect(neededSeconds(1000_500, 2000_001)).toEqual([1000, 2000]);
  });

  it('lists what is missing before, after and inside the collected range, merged', () => {
    const cov = { from: 100, to: 200, pendingIngestJobs: 0, gaps: [[150, 159], [160, 170]] as Array<[number, number]> };
    expect(missingRanges(120, 180, cov)).toEqual([[150, 170]]);
    expect(missingRanges(50, 250, cov)).toEqual([[50, 99], [150, 170], [201, 250]]);
    expect(missingRanges(100, 140, cov)).toEqual([]);
    expect(missingRanges(10, 20, { from: null, to: null, pendingIngestJobs: 0, gaps: [] })).toEqual([[10, 20]]);
  });

  it('is complete only when the range is covered and no ingest job is pending', () => {
    const full = { from: 0, to: 10_000, pendingIngestJobs: 0, gaps: [] };
    expect(sourceCompleteness('acme', 1000_000, 2000_000, full).status).toBe('complete');
    const pending = sourceCompleteness('acme', 1000_000, 2000_000, { ...full, pendingIngestJobs: 3 });
    expect(pending.status).toBe('incomplete');
    expect(pending.statement).toContain('3 ingest job(s)');
    const short = sourceCompleteness('acme', 1000_000, 20_000_000, full);
    expect(short.missing).toEqual([{ from: new Date(10_001_000).toISOString(), to: new Date(19_999_000).toISOString() }]);
  });

  it('rolls sources up, and says unknown without a reader, sources or a working reader', async () => {
    const ok = async () => Promise.resolve({ from: 0, to: 10_000, pendingIngestJobs: 0, gaps: [] });
    expect((await buildCompleteness(['a', 'b'], 0, 1000, ok)).status).toBe('complete');
    expect((await buildCompleteness(['a'], 0, 1000, null)).status).toBe('unknown');
    expect((await buildCompleteness([], 0, 1000, ok)).status).toBe('unknown');
    const failing = async () => Promise.reject(new Error('redis down'));
    const res = await buildCompleteness(['a'], 0, 1000, failing);
    expect(res.status).toBe('unknown');
    expect(res.statement).toContain('redis down');
    const mixed = await buildCompleteness(['a', 'b'], 0, 20_000_000, async (id) => (id === 'a' ? ok() : Promise.resolve({ from: null, to: null, pendingIngestJobs: 0, gaps: [] })));
    expect(mixed.status).toBe('incomplete');
    expect(mixed.statement).toContain('source b');
  });
});
