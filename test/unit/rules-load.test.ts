import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SlackAuditError } from '../../src/errors.js';
import { formatIssues, loadRuleFiles, loadRulesOrThrow } from '../../src/rules/load.js';

const dir = mkdtempSync(join(tmpdir(), 'rules-load-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const ok = (id: string) => `rules:
  - id: ${id}
    name: n
    description: d
    severity: low
    reference: r
    type: match
    where: { field: event.action, equals: x }
`;

describe('rule loading', () => {
  it('reports file and key path for every problem, and duplicate ids across files', () => {
    writeFileSync(join(dir, 'a.yaml'), ok('dup'));
    writeFileSync(join(dir, 'b.yml'), ok('dup'));
    writeFileSync(
      join(dir, 'c.yaml'),
      `rules:
  - id: bad
    name: n
    description: d
    severity: urgent
    reference: r
    type: threshold
    window: 10 minutes
    threshold: 5
    where: { any: [ { field: a, equals: 1 }, { field: b, regex: "(x+)+" } ] }
`,
    );
    writeFileSync(join(dir, 'd.yaml'), 'rules: [ {');
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    const res = loadRuleFiles([dir, join(dir, 'missing.yaml')]);
    const text = formatIssues(res.issues);
    expect(text).toContain(`${join(dir, 'b.yml')}: rules.0.id: duplicate rule id "dup"`);
    expect(text).toContain(`${join(dir, 'c.yaml')}: rules.0.severity:`);
    expect(text).toContain(`${join(dir, 'c.yaml')}: rules.0.window: invalid duration`);
    expect(text).toContain(`${join(dir, 'c.yaml')}: rules.0.where.any.1.regex: nested quantifiers`);
    expect(text).toContain(`${join(dir, 'd.yaml')}: <yaml line`);
    expect(text).toContain(`${join(dir, 'missing.yaml')}: <file>: no such file`);
    expect(res.rules.map((r) => r.rule.id)).toEqual(['dup']);
    expect(() => loadRulesOrThrow([dir])).toThrow(SlackAuditError);
  });
});
