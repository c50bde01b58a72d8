import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { toEcs } from '../../src/normalize/index.js';
import { createLogger } from '../../src/observe/logger.js';
import { compileGetter, compiledFieldPaths, type EcsDocument } from '../../src/rules/fields.js';
import { FieldProjection, projectionCovers } from '../../src/rules/projection.js';
import { rulesJobBuilder } from '../../src/rules/rules-job.js';
import { ELASTIC_SAMPLE_ENTRIES } from '../helpers/conformance.js';

const log = createLogger({ level: 'silent', pretty: false });
const config = loadConfig({ file: '/dev/null', env: {}, overrides: {} });

// Keys from a small alphabet, some of them dotted, so paths collide with nesting, dotted keys and arrays.
const key = fc.constantFrom('a', 'b', 'c', 'a.b', 'b.c', '@t');
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constantFrom(null, 1, 'x', true), fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(key, tie('node'), { maxKeys: 4 })),
})).node;
const path = fc.array(fc.constantFrom('a', 'b', 'c', '@t'), { minLength: 1, maxLength: 4 }).map((s) => s.join('.'));

describe('FieldProjection', () => {
  it('answers every projected path exactly as the whole document does', () => {
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 5 }), fc.array(path, { minLength: 1, maxLength: 6 }), (doc, paths) => {
        const projected = new FieldProjection(paths).project(doc);
        for (const p of paths) expect(compileGetter(p)(projected)).toEqual(compileGetter(p)(doc as EcsDocument));
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps the same keys and shapes, leaves the rest out and never writes into the document', () => {
    const doc = { user: { id: 'U1', name: 'n', target: [{ id: 'T1', x: 1 }, { y: 2 }, { id: 'T2' }] }, 'slack.audit': { a: 1, b: 2 }, junk: 'x' };
    const before = JSON.stringify(doc);
    const p = new FieldProjection(['user.target.id', 'user.id', 'slack.audit.a', 'user.id', 'nope']);
    expect(p.paths).toEqual(['nope', 'slack.audit.a', 'user.id', 'user.target.id']);
    expect(JSON.parse(JSON.stringify(p.project(doc)))).toEqual({ user: { id: 'U1', target: [{ id: 'T1' }, null, { id: 'T2' }] }, 'slack.audit': { a: 1 } });
    expect(JSON.stringify(new FieldProjection(['user', 'user.id']).project(doc))).toBe(JSON.stringify({ user: doc.user }));
    expect(JSON.stringify(doc)).toBe(before);
    expect(projectionCovers(p.paths, ['user.id', 'slack.audit.a'])).toBe(true);
    expect(projectionCovers(p.paths, ['user.name'])).toBe(false);
  });
});

describe('rules jobs from the default rule pack', () => {
  const builder = rulesJobBuilder(config, log);
  const readPaths = [...compiledFieldPaths()];
  const docs = ELASTIC_SAMPLE_ENTRIES.map((l) => toEcs(JSON.parse(l), { keepOriginal: true })).flatMap((r) => (r.ok ? [r.doc] : []));

  it('project onto what the rules, the engine and the alert builder read', () => {
    expect(builder.fields).toBeDefined();
    const fields = builder.fields ?? [];
    for (const f of ['@timestamp', 'event.id', 'event.action', 'user.id', 'user.target.id', 'organization.id', 'slack.audit.context.app.id']) expect(projectionCovers(fields, [f])).toBe(true);
    expect(projectionCovers(fields, readPaths)).toBe(true);
    expect(projectionCovers(fields, ['event.original'])).toBe(false);
  });

  it('every field the rules read has the same value in the job as in the indexed document, and the job is smaller', () => {
    expect(docs.length).toBeGreaterThan(3);
    const job = builder.build('acme', docs);
    expect(job.fields).toEqual(builder.fields);
    for (const [i, doc] of docs.entries()) {
      for (const p of readPaths) expect(compileGetter(p)(job.events[i] as EcsDocument)).toEqual(compileGetter(p)(doc));
    }
    const whole = JSON.stringify(docs.map((d) => ({ ...d, event: { ...(d.event as object), original: undefined } }))).length;
    expect(JSON.stringify(job.events).length).toBeLessThan(whole);
  });
});
