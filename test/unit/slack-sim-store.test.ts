import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventStore, type Position } from '../../src/sim/store.js';
import { decodeCursor, encodeCursor } from '../../src/sim/server.js';
import { Prng } from '../../src/sim/prng.js';
import { buildOrg, randomEntry } from '../../src/sim/org.js';
import { auditEntrySchema } from '../../src/slack/entry.js';

/** Pure checks of the simulator's paging model and generator (the HTTP side is in test/integration/sim-*). */

function fill(dates: number[], actions: string[]): EventStore {
  const store = new EventStore();
  dates.forEach((d, i) => store.add({ id: `e${i}`, date_create: d, action: actions[i % actions.length] ?? 'user_login' }));
  return store;
}

describe('EventStore paging', () => {
  it('pages any window newest-first, exactly once, never splitting a second, limit overflow only for same-second groups', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 100, max: 160 }), { minLength: 0, maxLength: 120 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 90, max: 170 }),
        fc.integer({ min: 0, max: 80 }),
        fc.boolean(),
        (dates, limit, oldest, width, filtered) => {
          const latest = oldest + width;
          const actions = ['user_login', 'file_downloaded', 'anomaly'];
          const store = fill(dates, actions);
          const want = filtered ? new Set(['file_downloaded', 'anomaly']) : undefined;
          const served: { id: string; date: number }[] = [];
          const pages: number[][] = [];
          let after: Position | undefined;
          for (let guard = 0; guard < 500; guard++) {
            const r = store.query({ oldest, latest, limit, actions: want, actor: undefined, entity: undefined, after });
            const page = r.entries.map((e) => ({ id: String(e.id), date: Number(e.date_create) }));
            served.push(...page);
            pages.push(page.map((p) => p.date));
            // A page exceeds limit only by entries of its last second.
            if (page.length > limit) expect(new Set(page.slice(limit - 1).map((p) => p.date)).size).toBe(1);
            if (r.next === undefined) break;
            after = r.next;
          }
          const expected = dates
            .map((d, i) => ({ id: `e${i}`, date: d, action: actions[i % actions.length] ?? '' }))
            .filter((e) => e.date >= oldest && e.date <= latest && (want === undefined || want.has(e.action)));
          expect(served.map((s) => s.id).sort()).toEqual(expected.map((e) => e.id).sort());
          for (let i = 1; i < served.length; i++) expect(served[i]?.date ?? 0).toBeLessThanOrEqual(served[i - 1]?.date ?? 0);
          for (let i = 1; i < pages.length; i++) expect(pages[i - 1]?.includes(pages[i]?.[0] ?? -1)).toBe(false);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('keeps a position stable while newer events arrive, and places late events by date', () => {
    const store = fill([10, 10, 11, 12, 12, 12, 13], ['user_login']);
    const first = store.query({ oldest: 0, latest: 1e12, limit: 2, actions: undefined, actor: undefined, entity: undefined, after: undefined });
    expect(first.entries.map((e) => e.id)).toEqual(['e6', 'e5', 'e4', 'e3']);
    store.add({ id: 'new', date_create: 14, action: 'user_login' });
    store.add({ id: 'late', date_create: 11, action: 'user_login' });
    const rest = store.query({ oldest: 0, latest: 1e12, limit: 10, actions: undefined, actor: undefined, entity: undefined, after: first.next });
    // The new event is above the position (next poll's job); the late one lands in its second.
    expect(rest.entries.map((e) => e.id)).toEqual(['late', 'e2', 'e1', 'e0']);
    expect(rest.next).toBeUndefined();
    expect(store.producedIds).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'new', 'late']);
  });

  it('encodes cursors as base64 positions and rejects garbage', () => {
    const c = encodeCursor({ date: 1700000000, seq: 42 }, 123);
    expect(Buffer.from(c, 'base64').toString()).toBe('pos:1700000000:42:123');
    expect(decodeCursor(c)).toEqual({ pos: { date: 1700000000, seq: 42 }, issuedMs: 123 });
    expect(decodeCursor('not a cursor')).toBeUndefined();
    expect(decodeCursor(Buffer.from('pos:1:x:3').toString('base64'))).toBeUndefined();
  });
});

describe('simulator generator', () => {
  it('is deterministic per seed and produces entries the tolerant schema accepts', () => {
    const gen = (seed: string): unknown[] => {
      const org = buildOrg(seed);
      const rng = new Prng(seed);
      return Array.from({ length: 300 }, (_, i) => randomEntry(rng, org, 1_700_000_000 + i));
    };
    const a = gen('s1');
    expect(gen('s1')).toEqual(a);
    expect(gen('s2')).not.toEqual(a);
    expect(a.every((e) => auditEntrySchema.safeParse(e).success)).toBe(true);
    const actions = new Set(a.map((e) => (e as { action: string }).action));
    for (const must of ['user_login', 'file_downloaded', 'file_shared', 'user_channel_join']) expect(actions.has(must)).toBe(true);
  });

  it('generates uuid-shaped ids', () => {
    const rng = new Prng(7);
    for (let i = 0; i < 50; i++) expect(rng.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
