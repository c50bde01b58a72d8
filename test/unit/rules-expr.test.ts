import { describe, expect, it } from 'vitest';
import { compileCondition, parseCondition, unsafeRegexReason, type ConditionIssue } from '../../src/rules/expr.js';
import { compileGetter } from '../../src/rules/fields.js';
import { parseRuleFile } from '../../src/rules/load.js';

const doc = {
  '@timestamp': '2026-01-02T09:38:00.000Z',
  event: { id: 'e1', action: 'anomaly', severity: 3 },
  user: { id: 'W1', email: 'Alice@Example.com', target: { id: 'W2' } },
  source: { ip: '185.220.101.47', as: { number: 64500 } },
  'slack.audit': { details: { reason: ['tor', 'session_fingerprint'] } },
  slack: { audit: { context: { app: { id: 'A1' } } } },
  user_agent: { original: 'curl/8.1' },
  related: { ip: ['10.1.2.3', '2001:db8::1'] },
};

function pred(raw: unknown) {
  const issues: ConditionIssue[] = [];
  const c = parseCondition(raw, issues);
  expect(issues).toEqual([]);
  if (!c) throw new Error('no condition');
  return compileCondition(c);
}

function problems(raw: unknown): ConditionIssue[] {
  const issues: ConditionIssue[] = [];
  parseCondition(raw, issues);
  return issues;
}

describe('field paths', () => {
  it('reads nested, dotted-key and mixed documents, and flattens arrays of objects', () => {
    expect(compileGetter('slack.audit.details.reason')(doc)).toEqual(['tor', 'session_fingerprint']);
    expect(compileGetter('slack.audit.context.app.id')(doc)).toBe('A1');
    expect(compileGetter('a.b')({ a: [{ b: 1 }, { b: 2 }] })).toEqual([1, 2]);
    expect(compileGetter('user.nope')(doc)).toBeUndefined();
  });
  it('never reaches the prototype chain', () => {
    expect(compileGetter('constructor')(doc)).toBeUndefined();
    expect(compileGetter('user.__proto__')(doc)).toBeUndefined();
    expect(compileGetter('event.action.length')(doc)).toBeUndefined();
  });
});

describe('operators', () => {
  it('equals / in / contains / starts_with, on scalars and any array element', () => {
    expect(pred({ field: 'event.action', equals: 'anomaly' })(doc)).toBe(true);
    expect(pred({ field: 'event.action', equals: 'Anomaly' })(doc)).toBe(false);
    expect(pred({ field: 'event.action', equals: 'ANOMALY', ignore_case: true })(doc)).toBe(true);
    expect(pred({ field: 'slack.audit.details.reason', equals: 'tor' })(doc)).toBe(true);
    expect(pred({ field: 'slack.audit.details.reason', in: ['asn', 'session_fingerprint'] })(doc)).toBe(true);
    expect(pred({ field: 'slack.audit.details.reason', in: ['asn'] })(doc)).toBe(false);
    expect(pred({ field: 'source.as.number', equals: '64500' })(doc)).toBe(true);
    expect(pred({ field: 'source.as.number', in: [64500] })(doc)).toBe(true);
    expect(pred({ field: 'user.email', contains: 'example.com', ignore_case: true })(doc)).toBe(true);
    expect(pred({ field: 'user.email', contains: 'example.com' })(doc)).toBe(false);
    expect(pred({ field: 'user_agent.original', starts_with: 'curl/' })(doc)).toBe(true);
  });
  it('exists', () => {
    expect(pred({ field: 'user.target.id', exists: true })(doc)).toBe(true);
    expect(pred({ field: 'user.target.email', exists: true })(doc)).toBe(false);
    expect(pred({ field: 'user.target.email', exists: false })(doc)).toBe(true);
    expect(pred({ field: 'x', exists: true })({ x: [] })).toBe(false);
  });
  it('regex, compiled once, optionally case-insensitive', () => {
    expect(pred({ field: 'user_agent.original', regex: '^curl/\\d+' })(doc)).toBe(true);
    expect(pred({ field: 'user_agent.original', regex: '^CURL', ignore_case: true })(doc)).toBe(true);
    expect(pred({ field: 'user_agent.original', regex: '^wget' })(doc)).toBe(false);
  });
  it('cidr for IPv4, IPv6 and IPv4-mapped IPv6; garbage IPs never match', () => {
    expect(pred({ field: 'source.ip', cidr: '185.220.100.0/22' })(doc)).toBe(true);
    expect(pred({ field: 'source.ip', cidr: ['10.0.0.0/8'] })(doc)).toBe(false);
    expect(pred({ field: 'related.ip', cidr: ['10.0.0.0/8'] })(doc)).toBe(true);
    expect(pred({ field: 'related.ip', cidr: '2001:db8::/32' })(doc)).toBe(true);
    expect(pred({ field: 'ip', cidr: '10.0.0.0/8' })({ ip: '::ffff:10.9.9.9' })).toBe(true);
    expect(pred({ field: 'ip', cidr: '10.0.0.0/8' })({ ip: 'not-an-ip' })).toBe(false);
  });
  it('numeric bounds combine; numeric strings count, other strings do not', () => {
    expect(pred({ field: 'event.severity', gte: 3, lt: 4 })(doc)).toBe(true);
    expect(pred({ field: 'event.severity', gt: 3 })(doc)).toBe(false);
    expect(pred({ field: 'n', lte: 10 })({ n: '7' })).toBe(true);
    expect(pred({ field: 'n', lte: 10 })({ n: 'seven' })).toBe(false);
  });
  it('all / any / not', () => {
    const c = pred({
      all: [{ field: 'event.action', equals: 'anomaly' }, { any: [{ field: 'user.id', equals: 'nobody' }, { not: { field: 'user.id', equals: 'W9' } }] }],
    });
    expect(c(doc)).toBe(true);
    expect(pred({ not: { field: 'event.action', equals: 'anomaly' } })(doc)).toBe(false);
    expect(pred({ any: [{ field: 'event.action', equals: 'x' }, { field: 'event.action', equals: 'y' }] })(doc)).toBe(false);
  });
});

describe('validation', () => {
  it('reports the key path of the bad part', () => {
    const nested = problems({ all: [{ field: 'a', equals: 1 }, { any: [{ field: 'b', regex: '(a+)+$' }] }] });
    expect(nested.map((i) => i.path)).toEqual([['all', 1, 'any', 0, 'regex']]);
    expect(nested[0]?.message).toContain('nested quantifiers');
    expect(problems({ field: 'a', equals: 1, in: [1] })[0]?.message).toContain('exactly one operator');
    expect(problems({ field: 'a' })[0]?.message).toContain('none');
    expect(problems({ field: 'a', equal: 1 })[0]?.path).toEqual([]);
    expect(problems({ field: 'bad path!', equals: 1 })[0]?.path).toEqual(['field']);
    expect(problems({ field: 'ip', cidr: ['10.0.0.0/8', '300.1.1.1/8'] })[0]?.path).toEqual(['cidr', 1]);
    expect(problems({ all: [] })[0]?.path).toEqual(['all']);
    expect(problems({ not: { field: 'a', equals: 1 }, extra: 1 })[0]?.message).toContain('only key');
  });
  it('rejects catastrophic and oversized regexes, and backreferences', () => {
    for (const bad of ['(a+)+', '(.*)*x', '(a|b*)+', '(x+){2,}', '((ab)*)+', '(a)\\1', 'a'.repeat(300), '(unclosed']) expect(unsafeRegexReason(bad), bad).toBeDefined();
    for (const ok of ['^pref\\.', '(ab)+', 'a+b+', '[(]+', '\\(a+\\)+', '^(foo|bar)$', '(a+)?']) expect(unsafeRegexReason(ok), ok).toBeUndefined();
  });
  it('limits nesting depth', () => {
    let c: unknown = { field: 'a', equals: 1 };
    for (let i = 0; i < 20; i++) c = { not: c };
    expect(problems(c)[0]?.message).toContain('deeper');
  });
});

describe('a rule file cannot execute code', () => {
  const rule = (where: string) => `rules:
  - id: r1
    name: n
    description: d
    severity: low
    reference: x
    type: match
    where: ${where}
`;
  it('YAML tags that would build functions or classes are rejected, not evaluated', () => {
    const marker = globalThis as { __pwned?: boolean };
    for (const where of ['!!js/function "function () { globalThis.__pwned = true }"', '!!js/eval "globalThis.__pwned = true"', '!!python/object/apply:os.system ["id"]']) {
      const res = parseRuleFile('evil.yaml', rule(where));
      expect(res.content, where).toBeUndefined();
      expect(res.issues.length, where).toBeGreaterThan(0);
    }
    expect(marker.__pwned).toBeUndefined();
  });
  it('a condition is data: strings that look like code are just compared, unknown keys are refused', () => {
    const res = parseRuleFile('x.yaml', rule('{ field: event.action, equals: "process.exit(1)" }'));
    expect(res.issues).toEqual([]);
    const where = res.content?.rules[0];
    expect(where?.type).toBe('match');
    const refused = parseRuleFile('x.yaml', rule('{ script: "return true" }'));
    expect(refused.content).toBeUndefined();
    expect(refused.issues[0]?.file).toBe('x.yaml');
    expect(refused.issues[0]?.path).toMatch(/^rules\.0\.where/);
    expect(parseRuleFile('x.yaml', rule('{ field: "constructor.constructor", equals: 1 }')).issues).toEqual([]);
  });
  it('prototype-polluting keys stay inert', () => {
    const res = parseRuleFile('x.yaml', `${rule('{ field: a, equals: 1 }')}    __proto__: { polluted: true }\n`);
    expect(res.issues.length).toBeGreaterThan(0);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });
});
