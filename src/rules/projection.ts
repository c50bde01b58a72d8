import { pathSpellings, type EcsDocument } from './fields.js';

/**
 * The part of a document the rules read. The rules code reads documents only through compiled getters, so
 * once the rule pack is compiled (and the engine and alert modules loaded), `compiledFieldPaths()` lists
 * every field a rule, the alert builder or a response can look at. Rules jobs carry documents projected onto
 * those paths instead of whole documents: less JSON to write and parse, and less Redis held while the rules
 * worker lags behind the indexers.
 *
 * The projection is the sub-tree of the document that the getters' walks reach and find a value in (nested
 * keys, dotted spellings and array elements alike), with the same keys and shapes, so `compileGetter(p)`
 * returns the same value on it as on the whole document for every projected path `p`.
 */
export class FieldProjection {
  readonly paths: readonly string[];
  private readonly steps: { segs: string[]; joined: string[][] }[];
  private readonly trie: TrieNode;

  constructor(paths: Iterable<string>) {
    this.paths = [...new Set(paths)].sort();
    this.steps = this.paths.map((p) => {
      const segs = p.split('.');
      return { segs, joined: pathSpellings(segs) };
    });
    this.trie = buildTrie(this.steps);
  }

  project(doc: EcsDocument): EcsDocument {
    // Documents as toEcs makes them (nested objects, no dotted keys or arrays on the way) take one walk over
    // the path trie; anything else takes the exact per-path walk.
    const fast = copyPlain(doc, this.trie);
    if (fast !== NOT_PLAIN) return fast ?? {};
    const partial = new Set<object>();
    let out: unknown = undefined;
    for (const step of this.steps) {
      const kept = keep(doc, 0, step, out, partial);
      if (kept !== undefined) out = kept;
    }
    return (out ?? {}) as EcsDocument;
  }
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

interface TrieNode {
  /** A path ends here: the value is kept whole. */
  leaf: boolean;
  children: Map<string, TrieNode>;
  /** The children as parallel arrays (the hot loop iterates these). */
  keys: string[];
  nodes: TrieNode[];
  /** Dotted spellings (`a.b`, `a.b.c`) of the paths below: keys that would send the getter another way. */
  dotted: string[];
}

function buildTrie(steps: readonly { segs: string[]; joined: string[][] }[]): TrieNode {
  const root: TrieNode = { leaf: false, children: new Map(), keys: [], nodes: [], dotted: [] };
  for (const { segs, joined } of steps) {
    let node = root;
    segs.forEach((seg, i) => {
      for (let j = i + 2; j <= segs.length; j++) {
        const d = joined[i]?.[j] as string;
        if (!node.dotted.includes(d)) node.dotted.push(d);
      }
      let next = node.children.get(seg);
      if (next === undefined) {
        next = { leaf: false, children: new Map(), keys: [], nodes: [], dotted: [] };
        node.children.set(seg, next);
        node.keys.push(seg);
        node.nodes.push(next);
      }
      node = next;
    });
    node.leaf = true;
  }
  return root;
}

const NOT_PLAIN = Symbol('not plain');
type Plain = Record<string, unknown> | undefined | typeof NOT_PLAIN;

/** The projection of a plain nested object (undefined: nothing found), or NOT_PLAIN when the exact walk is needed. */
function copyPlain(obj: Record<string, unknown>, node: TrieNode): Plain {
  for (const d of node.dotted) if (hasOwn(obj, d)) return NOT_PLAIN;
  let out: Record<string, unknown> | undefined;
  for (let c = 0; c < node.keys.length; c++) {
    const k = node.keys[c] as string;
    const child = node.nodes[c] as TrieNode;
    if (k === '__proto__') return NOT_PLAIN;
    if (!hasOwn(obj, k)) continue;
    const v = obj[k];
    if (v === undefined) continue;
    if (child.leaf) {
      (out ??= {})[k] = v;
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) return NOT_PLAIN;
    const sub = copyPlain(v as Record<string, unknown>, child);
    if (sub === NOT_PLAIN) return NOT_PLAIN;
    if (sub !== undefined) (out ??= {})[k] = sub;
  }
  return out;
}

/**
 * Mirror of the getter's walk (src/rules/fields.ts) that copies what the walk finds a value in, merged into
 * `into` (what earlier paths kept here). Branches in which the walk finds nothing are left out: a walk over a
 * sub-tree of such a branch finds nothing either. Values at the end of a path are kept whole (by reference,
 * never written to); containers made here are in `partial`.
 */
function keep(node: unknown, i: number, step: { segs: string[]; joined: string[][] }, into: unknown, partial: Set<object>): unknown {
  if (i === step.segs.length) return node;
  if (node === null || typeof node !== 'object') return undefined;
  if (into !== undefined && into !== null && !partial.has(into)) return into; // a whole value is already kept here
  if (Array.isArray(node)) {
    // Same length, same positions (null where nothing is kept: the walk finds nothing in null).
    let out = into as unknown[] | undefined;
    for (let k = 0; k < node.length; k++) {
      const v = keep(node[k], i, step, out?.[k] ?? undefined, partial);
      if (v === undefined) continue;
      if (out === undefined) {
        out = new Array<unknown>(node.length).fill(null);
        partial.add(out);
      }
      out[k] = v;
    }
    return out;
  }
  const obj = node as Record<string, unknown>;
  let out = into as Record<string, unknown> | undefined;
  const put = (k: string, v: unknown) => {
    if (out === undefined) {
      out = {};
      partial.add(out);
    }
    // A key named __proto__ must stay a key (an assignment would set the prototype).
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
  };
  const key = step.segs[i] as string;
  if (hasOwn(obj, key)) {
    const v = keep(obj[key], i + 1, step, out?.[key], partial);
    if (v !== undefined) put(key, v);
  }
  const row = step.joined[i] as string[];
  for (let j = i + 2; j <= step.segs.length; j++) {
    const k = row[j] as string;
    if (!hasOwn(obj, k)) continue;
    const v = keep(obj[k], j, step, out?.[k], partial);
    if (v !== undefined) put(k, v);
  }
  return out;
}

/** True when a document projected onto `available` answers every path in `needed` as the whole one would. */
export function projectionCovers(available: readonly string[], needed: Iterable<string>): boolean {
  const have = new Set(available);
  for (const p of needed) if (!have.has(p)) return false;
  return true;
}
