/**
 * Field access on ECS documents by dotted path (`user.target.id`, `slack.audit.details.reason`).
 * Documents may be nested objects, may carry dotted keys (`{"slack.audit": {...}}`), or mix both, so a
 * getter tries the nested walk first and then the dotted spellings. Getters are compiled once per path.
 * Only own properties are read: a path like `constructor` or `__proto__` never reaches the prototype.
 */
export type EcsDocument = Record<string, unknown>;
export type FieldGetter = (doc: EcsDocument) => unknown;

export const FIELD_PATH_RE = /^[A-Za-z@_][A-Za-z0-9@_-]*(\.[A-Za-z0-9@_-]+)*$/;

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** Every path a getter was compiled for in this process: the rules code reads documents only through getters. */
const compiledPaths = new Set<string>();

/** The paths compiled so far (after the rule pack is compiled: every field the rules and alerts can read). */
export function compiledFieldPaths(): ReadonlySet<string> {
  return compiledPaths;
}

/**
 * The spellings a walk over `segs` may meet: joined[i][j] = segs[i..j).join('.'), precomputed so lookups never
 * allocate (a key at step i may be the dotted `a.b` as well as the nested `a`).
 */
export function pathSpellings(segs: readonly string[]): string[][] {
  return segs.map((_, i) => segs.map((__, j) => (j > i ? segs.slice(i, j).join('.') : '')).concat([segs.slice(i).join('.')]));
}

export function compileGetter(path: string): FieldGetter {
  compiledPaths.add(path);
  const segs = path.split('.');
  const joined = pathSpellings(segs);
  const walk = (node: unknown, i: number): unknown => {
    if (i === segs.length) return node;
    if (node === null || typeof node !== 'object') return undefined;
    if (Array.isArray(node)) {
      // Arrays of objects flatten, as in Elasticsearch: `a.b` over [{b:1},{b:2}] is [1,2].
      const out: unknown[] = [];
      for (const el of node) {
        const v = walk(el, i);
        if (v === undefined) continue;
        if (Array.isArray(v)) out.push(...(v as unknown[]));
        else out.push(v);
      }
      return out.length > 0 ? out : undefined;
    }
    const obj = node as Record<string, unknown>;
    const key = segs[i] as string;
    if (hasOwn(obj, key)) {
      const v = walk(obj[key], i + 1);
      if (v !== undefined) return v;
    }
    const row = joined[i] as string[];
    for (let j = i + 2; j <= segs.length; j++) {
      const k = row[j] as string;
      if (hasOwn(obj, k)) {
        const v = walk(obj[k], j);
        if (v !== undefined) return v;
      }
    }
    return undefined;
  };
  return (doc) => walk(doc, 0);
}

/** A field value as a flat list of scalars (arrays flatten one level; null/undefined give []). */
export function scalars(value: unknown): (string | number | boolean)[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) {
    const out: (string | number | boolean)[] = [];
    for (const v of value) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out.push(v);
    return out;
  }
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? [value] : [];
}

const getTimestamp = compileGetter('@timestamp');
const getEventId = compileGetter('event.id');

/** Event time in Unix ms from `@timestamp` (ISO string or epoch ms); undefined when missing or unparsable. */
export function eventTimeMs(doc: EcsDocument): number | undefined {
  const v = getTimestamp(doc);
  if (typeof v === 'number' && Number.isFinite(v)) return v < 1e12 ? v * 1000 : v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

export function eventId(doc: EcsDocument): string | undefined {
  const v = getEventId(doc);
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
