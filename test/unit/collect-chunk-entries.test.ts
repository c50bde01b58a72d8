import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chunkEntries, chunkTexts } from '../../src/collect/chunk-entries.js';
import { backoffMs } from '../../src/collect/sleep.js';
import { ingestJobOptions, newestDate } from '../../src/collect/ingest-producer.js';
import { ingestJobId } from '../../src/queue/jobs.js';
import { testConfig } from '../helpers/env.js';

const entry = (i: number, pad = 0) => ({ id: `e${i}`, date_create: 1000 + i, action: 'user_login', pad: 'x'.repeat(pad) });

describe('chunkEntries', () => {
  it('caps entries per chunk and keeps the order', () => {
    const entries = Array.from({ length: 7 }, (_, i) => entry(i));
    const chunks = chunkEntries(entries, 3, 1 << 20);
    expect(chunks.map((c) => c.length)).toEqual([3, 3, 1]);
    expect(chunks.flat()).toEqual(entries);
  });

  it('caps bytes per chunk; an oversized entry still gets its own chunk (never dropped)', () => {
    const entries = [entry(1, 100), entry(2, 5000), entry(3, 100), entry(4, 100)];
    const chunks = chunkEntries(entries, 100, 1000);
    expect(chunks.flat()).toEqual(entries);
    expect(chunks.find((c) => c.includes(entries[1] as (typeof entries)[number]))).toHaveLength(1);
    for (const c of chunks) if (c.length > 1) expect(Buffer.byteLength(JSON.stringify(c))).toBeLessThanOrEqual(1000);
  });

  it('texts are cut exactly where their parsed entries are', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 600 }), { maxLength: 60 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 200, max: 3000 }), (pads, maxEntries, maxBytes) => {
        const entries = pads.map((p, i) => entry(i, p));
        const byText = chunkTexts(entries.map((e) => JSON.stringify(e)), maxEntries, maxBytes);
        expect(byText.map((c) => c.map((t) => JSON.parse(t) as unknown))).toEqual(chunkEntries(entries, maxEntries, maxBytes));
      }),
    );
  });

  it('an empty page gives no chunk', () => {
    expect(chunkEntries([], 10, 1000)).toEqual([]);
  });

  it('property: lossless, order-preserving, deterministic', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 600 }), { maxLength: 60 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 200, max: 3000 }), (pads, maxEntries, maxBytes) => {
        const entries = pads.map((p, i) => entry(i, p));
        const a = chunkEntries(entries, maxEntries, maxBytes);
        expect(a.flat()).toEqual(entries);
        expect(chunkEntries(entries, maxEntries, maxBytes)).toEqual(a);
        for (const c of a) expect(c.length).toBeLessThanOrEqual(maxEntries);
      }),
    );
  });
});

describe('ingest job contract', () => {
  it('job ids are deterministic and BullMQ-safe (no ":")', () => {
    const id = ingestJobId('acme', 'live:100-200', 3, 1);
    expect(id).toBe(ingestJobId('acme', 'live:100-200', 3, 1));
    expect(id).not.toContain(':');
    expect(id).not.toBe(ingestJobId('acme', 'live:100-200', 3, 2));
  });

  it('job options survive long outages and keep Redis bounded', () => {
    const o = ingestJobOptions(testConfig({}, 'unit'));
    expect(o.attempts).toBeGreaterThanOrEqual(20);
    expect(o.backoff).toMatchObject({ type: 'exponential' });
    expect(o.removeOnComplete).toMatchObject({ age: expect.any(Number) as number, count: expect.any(Number) as number });
    expect(o.removeOnFail).toMatchObject({ count: expect.any(Number) as number });
  });

  it('newestDate finds the newest date_create and ignores junk', () => {
    expect(newestDate([{ date_create: 5 }, { date_create: 9 }, { date_create: 'x' }, {}])).toBe(9);
    expect(newestDate([])).toBeNull();
  });
});

describe('backoffMs', () => {
  it('grows exponentially, is capped, and jitters within [d/2, d]', () => {
    expect(backoffMs(1, 100, 10_000, () => 1)).toBe(100);
    expect(backoffMs(1, 100, 10_000, () => 0)).toBe(50);
    expect(backoffMs(4, 100, 10_000, () => 1)).toBe(800);
    expect(backoffMs(30, 100, 10_000, () => 1)).toBe(10_000);
  });
});
