import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { FIELD_PATH_RE, compileGetter, scalars, type EcsDocument } from './fields.js';

/**
 * The condition language of rule files. It is data, never code: a condition is a YAML mapping that is
 * validated here and compiled once into a closure. Forms (see config/rules/README.md):
 *
 *   { field: event.action, equals: anomaly }         scalar equality (any element of an array field)
 *   { field: event.action, in: [a, b] }              membership
 *   { field: user_agent.original, contains: curl }   substring (strings) / element of an array
 *   { field: event.action, starts_with: "pref." }    prefix
 *   { field: source.ip, exists: true }               present and not null / empty array
 *   { field: event.action, regex: "^pref\\." }       anchored or not; length-capped, no nested quantifiers
 *   { field: source.ip, cidr: [10.0.0.0/8] }         IPv4/IPv6 CIDR membership
 *   { field: source.as.number, gte: 100, lt: 200 }   numeric bounds (gt, gte, lt, lte; combinable)
 *   { all: [..] } / { any: [..] } / { not: {..} }    boolean composition
 *
 * `ignore_case: true` applies to equals, in, contains, starts_with and regex.
 */
export type Scalar = string | number | boolean;
export type Predicate = (doc: EcsDocument) => boolean;

export interface LeafCondition {
  field: string;
  equals?: Scalar | undefined;
  in?: Scalar[] | undefined;
  contains?: string | undefined;
  starts_with?: string | undefined;
  exists?: boolean | undefined;
  regex?: string | undefined;
  cidr?: string | string[] | undefined;
  gt?: number | undefined;
  gte?: number | undefined;
  lt?: number | undefined;
  lte?: number | undefined;
  ignore_case?: boolean | undefined;
}
export type Condition = LeafCondition | { all: Condition[] } | { any: Condition[] } | { not: Condition };

export const REGEX_MAX_LENGTH = 256;
/** Strings longer than this are cut before a regex test, bounding the work per event. */
export const REGEX_INPUT_MAX = 4096;
const MAX_DEPTH = 12;

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const leafSchema = z
  .object({
    field: z.string().regex(FIELD_PATH_RE, 'field: a dotted field path such as user.target.id'),
    equals: scalar.optional(),
    in: z.array(scalar).min(1).max(1000).optional(),
    contains: z.string().min(1).optional(),
    starts_with: z.string().min(1).optional(),
    exists: z.boolean().optional(),
    regex: z.string().min(1).max(REGEX_MAX_LENGTH).optional(),
    cidr: z.union([z.string(), z.array(z.string()).min(1).max(1000)]).optional(),
    gt: z.number().optional(),
    gte: z.number().optional(),
    lt: z.number().optional(),
    lte: z.number().optional(),
    ignore_case: z.boolean().optional(),
  })
  .strict();

const OPERATORS = ['equals', 'in', 'contains', 'starts_with', 'exists', 'regex', 'cidr'] as const;
const NUMERIC = ['gt', 'gte', 'lt', 'lte'] as const;

export interface ConditionIssue {
  path: (string | number)[];
  message: string;
}

/** Validate a raw condition; returns the typed AST or undefined, pushing issues with paths relative to it. */
export function parseCondition(raw: unknown, issues: ConditionIssue[], path: (string | number)[] = [], depth = 0): Condition | undefined {
  if (depth > MAX_DEPTH) {
    issues.push({ path, message: `conditions nest deeper than ${MAX_DEPTH} levels` });
    return undefined;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    issues.push({ path, message: 'a condition is a mapping: {field, <operator>} or {all|any: [...]} or {not: {...}}' });
    return undefined;
  }
  const obj = raw as Record<string, unknown>;
  const keys = Object.keys(obj);
  for (const op of ['all', 'any'] as const) {
    if (op in obj) {
      if (keys.length !== 1) {
        issues.push({ path, message: `"${op}" must be the only key of its mapping` });
        return undefined;
      }
      const list = obj[op];
      if (!Array.isArray(list) || list.length === 0) {
        issues.push({ path: [...path, op], message: `"${op}" takes a non-empty list of conditions` });
        return undefined;
      }
      const parts = list.map((c, i) => parseCondition(c, issues, [...path, op, i], depth + 1));
      if (parts.some((p) => p === undefined)) return undefined;
      return op === 'all' ? { all: parts as Condition[] } : { any: parts as Condition[] };
    }
  }
  if ('not' in obj) {
    if (keys.length !== 1) {
      issues.push({ path, message: '"not" must be the only key of its mapping' });
      return undefined;
    }
    const inner = parseCondition(obj.not, issues, [...path, 'not'], depth + 1);
    return inner === undefined ? undefined : { not: inner };
  }
  const parsed = leafSchema.safeParse(obj);
  if (!parsed.success) {
    for (const i of parsed.error.issues) issues.push({ path: [...path, ...(i.path as (string | number)[])], message: i.message });
    return undefined;
  }
  const leaf = parsed.data;
  const ops = OPERATORS.filter((k) => leaf[k] !== undefined);
  const nums = NUMERIC.filter((k) => leaf[k] !== undefined);
  if (ops.length + (nums.length > 0 ? 1 : 0) !== 1) {
    issues.push({
      path,
      message: `a field condition needs exactly one operator (${[...OPERATORS, 'gt/gte/lt/lte'].join(', ')}), got ${ops.length + nums.length === 0 ? 'none' : [...ops, ...nums].join(', ')}`,
    });
    return undefined;
  }
  if (leaf.regex !== undefined) {
    const why = unsafeRegexReason(leaf.regex);
    if (why) {
      issues.push({ path: [...path, 'regex'], message: why });
      return undefined;
    }
  }
  if (leaf.cidr !== undefined) {
    const list = Array.isArray(leaf.cidr) ? leaf.cidr : [leaf.cidr];
    list.forEach((c, i) => {
      if (!parseCidr(c)) issues.push({ path: [...path, 'cidr', ...(Array.isArray(leaf.cidr) ? [i] : [])], message: `invalid CIDR ${JSON.stringify(c)}` });
    });
  }
  return leaf;
}

/**
 * Reject patterns that cannot compile and the classic catastrophic-backtracking shapes: a quantified group
 * that itself contains an unbounded quantifier (`(a+)+`, `(.*)*`, `(x|y+){2,}`), and backreferences.
 * Not a full ReDoS proof, but it closes the common footguns; inputs are also length-capped at test time.
 */
export function unsafeRegexReason(pattern: string): string | undefined {
  if (pattern.length > REGEX_MAX_LENGTH) return `regex longer than ${REGEX_MAX_LENGTH} characters`;
  try {
    new RegExp(pattern);
  } catch (err) {
    return `invalid regex: ${(err as Error).message}`;
  }
  if (/\\[1-9]|\\k</.test(pattern)) return 'backreferences are not allowed in rule regexes';
  // Walk the pattern, tracking for each open group whether it contains an unbounded quantifier.
  const stack: boolean[] = [];
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      continue;
    }
    if (ch === '(') {
      stack.push(false);
      continue;
    }
    const unbounded = ch === '*' || ch === '+' || (ch === '{' && /^\{\d*,\}/.test(pattern.slice(i)));
    if (ch === ')') {
      const inner = stack.pop() ?? false;
      const next = pattern.slice(i + 1);
      const quantified = /^(\*|\+|\?|\{\d*(,\d*)?\})/.test(next);
      const nextUnbounded = /^(\*|\+|\{\d*,\}|\{\d+,\d+\})/.test(next);
      if (inner && nextUnbounded) return 'nested quantifiers such as (a+)+ can backtrack catastrophically; rewrite the regex';
      if (stack.length > 0 && (inner || (quantified && nextUnbounded))) stack[stack.length - 1] = true;
      continue;
    }
    if (unbounded && stack.length > 0) stack[stack.length - 1] = true;
  }
  return undefined;
}

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];
function parseCidr(text: string): Cidr | undefined {
  try {
    return ipaddr.parseCIDR(text.trim());
  } catch {
    try {
      // A bare address is a /32 or /128.
      const addr = ipaddr.parse(text.trim());
      return [addr, addr.kind() === 'ipv4' ? 32 : 128];
    } catch {
      return undefined;
    }
  }
}

function parseIp(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (!ipaddr.isValid(text)) return undefined;
  const addr = ipaddr.parse(text);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) return (addr as ipaddr.IPv6).toIPv4Address();
  return addr;
}

function toNumber(v: Scalar): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Compile a validated condition into a closure. Regexes, sets and CIDRs are built here, once. */
export function compileCondition(cond: Condition): Predicate {
  if ('all' in cond) {
    const parts = cond.all.map(compileCondition);
    return (doc) => {
      for (const p of parts) if (!p(doc)) return false;
      return true;
    };
  }
  if ('any' in cond) {
    const parts = cond.any.map(compileCondition);
    return (doc) => {
      for (const p of parts) if (p(doc)) return true;
      return false;
    };
  }
  if ('not' in cond) {
    const inner = compileCondition(cond.not);
    return (doc) => !inner(doc);
  }
  return compileLeaf(cond);
}

function compileLeaf(leaf: LeafCondition): Predicate {
  const get = compileGetter(leaf.field);
  const ic = leaf.ignore_case === true;
  const norm = (v: Scalar): string => (ic ? String(v).toLowerCase() : String(v));
  const anyValue = (test: (v: Scalar) => boolean): Predicate => (doc) => {
    const vs = scalars(get(doc));
    for (const v of vs) if (test(v)) return true;
    return false;
  };

  if (leaf.exists !== undefined) {
    const want = leaf.exists;
    return (doc) => {
      const v = get(doc);
      const present = v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
      return present === want;
    };
  }
  if (leaf.equals !== undefined) {
    const target = leaf.equals;
    const targetStr = norm(target);
    // Strings compare as strings; numbers/booleans also match their string spelling (ES keyword semantics).
    return anyValue((v) => (v === target && !ic) || norm(v) === targetStr);
  }
  if (leaf.in !== undefined) {
    const set = new Set(leaf.in.map(norm));
    return anyValue((v) => set.has(norm(v)));
  }
  if (leaf.contains !== undefined) {
    const needle = ic ? leaf.contains.toLowerCase() : leaf.contains;
    return anyValue((v) => typeof v === 'string' && (ic ? v.toLowerCase() : v).includes(needle));
  }
  if (leaf.starts_with !== undefined) {
    const prefix = ic ? leaf.starts_with.toLowerCase() : leaf.starts_with;
    return anyValue((v) => typeof v === 'string' && (ic ? v.toLowerCase() : v).startsWith(prefix));
  }
  if (leaf.regex !== undefined) {
    const re = new RegExp(leaf.regex, ic ? 'i' : '');
    return anyValue((v) => {
      const s = typeof v === 'string' ? v : String(v);
      return re.test(s.length > REGEX_INPUT_MAX ? s.slice(0, REGEX_INPUT_MAX) : s);
    });
  }
  if (leaf.cidr !== undefined) {
    const ranges = (Array.isArray(leaf.cidr) ? leaf.cidr : [leaf.cidr]).map(parseCidr).filter((c): c is Cidr => c !== undefined);
    return anyValue((v) => {
      if (typeof v !== 'string') return false;
      const ip = parseIp(v);
      if (!ip) return false;
      for (const [range, bits] of ranges) {
        if (range.kind() === ip.kind() && ip.match(range, bits)) return true;
      }
      return false;
    });
  }
  const { gt, gte, lt, lte } = leaf;
  return anyValue((v) => {
    const n = toNumber(v);
    if (n === undefined) return false;
    if (gt !== undefined && !(n > gt)) return false;
    if (gte !== undefined && !(n >= gte)) return false;
    if (lt !== undefined && !(n < lt)) return false;
    if (lte !== undefined && !(n <= lte)) return false;
    return true;
  });
}

/** zod type for a `where:` value: validates and yields the AST (paths of issues point inside the condition). */
export const conditionSchema = z.unknown().transform((raw, ctx) => {
  const issues: ConditionIssue[] = [];
  const cond = parseCondition(raw, issues);
  for (const i of issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path });
  return cond ?? z.NEVER;
});
