import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toEcs } from '../../src/normalize/index.js';
import { compileRule, evaluateBatch } from '../../src/rules/evaluate.js';
import { MemoryRuleState } from '../../src/rules/state.js';
import { DEFAULT_RULES_DIR, loadRulesOrThrow } from '../../src/rules/load.js';

/**
 * The rule engine sees whatever the normalizer lets through, and documents a future normalizer might
 * produce. Whatever their shape, evaluation must never throw: a bad document is skipped, not a crashed worker.
 */
const rules = loadRulesOrThrow([DEFAULT_RULES_DIR]).map(({ rule }) => compileRule(rule));
const any = fc.jsonValue({ maxDepth: 4 });
const ts = fc.integer({ min: 1_500_000_000_000, max: 2_000_000_000_000 }).map((ms) => new Date(ms).toISOString());

/** ECS-ish documents where every field the default pack reads may be missing, of the wrong type, or an array. */
const docArb = fc.record(
  {
    '@timestamp': fc.oneof(ts, any),
    event: fc.oneof(any, fc.record({ id: fc.oneof(fc.uuid(), any), action: fc.oneof(fc.constantFrom('anomaly', 'file_downloaded', 'user_login', 'app_installed', 'role_change_to_admin'), any), category: any }, { requiredKeys: [] })),
    user: fc.oneof(any, fc.record({ id: any, email: any, target: any }, { requiredKeys: [] })),
    source: fc.oneof(any, fc.record({ ip: any, geo: any, as: any }, { requiredKeys: [] })),
    slack: fc.oneof(any, fc.record({ audit: fc.oneof(any, fc.record({ details: any, context: any, entity: any }, { requiredKeys: [] })) }, { requiredKeys: [] })),
  },
  { requiredKeys: [] },
);

describe('rule engine on random shapes (property)', () => {
  it('never throws on arbitrary ECS-shaped documents, whatever their field types', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(docArb, { maxLength: 30 }), async (docs) => {
        const res = await evaluateBatch(rules, docs, new MemoryRuleState());
        expect(res.skipped).toBeLessThanOrEqual(docs.length);
        for (const hit of res.hits) {
          expect(hit.alertId).toMatch(/^[0-9a-f]{20,}$/);
          expect(hit.count).toBeGreaterThan(0);
          expect(hit.eventIds.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on whatever the normalizer accepts from random JSON', async () => {
    const entry = fc.record(
      { id: fc.oneof(fc.uuid(), any), date_create: fc.oneof(fc.integer({ min: 1_500_000_000, max: 2_000_000_000 }), any), action: fc.oneof(fc.constantFrom('anomaly', 'file_downloaded', 'user_login'), any), actor: any, entity: any, context: any, details: any },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(entry, any), { maxLength: 30 }), async (raws) => {
        const docs = raws.map((r) => toEcs(r, { sourceId: 'fuzz', keepOriginal: false })).flatMap((r) => (r.ok ? [r.doc] : []));
        await evaluateBatch(rules, docs, new MemoryRuleState());
      }),
      { numRuns: 300 },
    );
  });
});
