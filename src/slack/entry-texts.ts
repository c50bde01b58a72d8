/**
 * The JSON text of each element of the top-level `entries` array of a /logs body, sliced from the body as
 * Slack sent it. The collector sizes ingest jobs by these lengths and hands the texts on, so no entry is
 * serialized again between Slack and Elasticsearch (and `event.original` is what Slack sent, byte for byte).
 *
 * Call it on a body JSON.parse accepted. It returns undefined unless the body is an object with exactly one
 * `entries` member holding an array; the caller then serializes the parsed entries itself.
 */
export function entryTexts(body: string): string[] | undefined {
  const s = new Scanner(body);
  s.ws();
  if (s.next() !== OPEN_OBJECT) return undefined;
  let found: string[] | undefined;
  let seen = 0;
  s.ws();
  if (s.peek() === CLOSE_OBJECT) return undefined;
  for (;;) {
    s.ws();
    const key = s.key();
    if (key === undefined) return undefined;
    s.ws();
    if (s.next() !== COLON) return undefined;
    s.ws();
    if (key === 'entries') {
      seen++;
      found = s.peek() === OPEN_ARRAY ? s.elements() : undefined;
      if (found === undefined) return undefined;
    } else if (!s.skipValue()) return undefined;
    s.ws();
    const c = s.next();
    if (c === COMMA) continue;
    if (c === CLOSE_OBJECT) break;
    return undefined;
  }
  return seen === 1 ? found : undefined;
}

const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;

class Scanner {
  i = 0;
  constructor(private readonly t: string) {}

  peek(): number {
    return this.t.charCodeAt(this.i);
  }

  next(): number {
    return this.t.charCodeAt(this.i++);
  }

  ws(): void {
    for (;;) {
      const c = this.t.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else return;
    }
  }

  /** Past the string starting at i (a quote); false when it never ends. */
  skipString(): boolean {
    let j = this.i + 1;
    for (;;) {
      const q = this.t.indexOf('"', j);
      if (q < 0) return false;
      let backslashes = 0;
      for (let k = q - 1; k >= j && this.t.charCodeAt(k) === BACKSLASH; k--) backslashes++;
      if (backslashes % 2 === 0) {
        this.i = q + 1;
        return true;
      }
      j = q + 1;
    }
  }

  /** A member name, decoded (JSON.parse only when it holds an escape). */
  key(): string | undefined {
    if (this.peek() !== QUOTE) return undefined;
    const start = this.i;
    if (!this.skipString()) return undefined;
    const raw = this.t.slice(start + 1, this.i - 1);
    return raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
  }

  /** Past one value of any kind; false on anything that is not JSON. */
  skipValue(): boolean {
    const c = this.peek();
    if (c === QUOTE) return this.skipString();
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      let depth = 0;
      for (;;) {
        const d = this.t.charCodeAt(this.i);
        if (Number.isNaN(d)) return false;
        if (d === QUOTE) {
          if (!this.skipString()) return false;
          continue;
        }
        this.i++;
        if (d === OPEN_OBJECT || d === OPEN_ARRAY) depth++;
        else if (d === CLOSE_OBJECT || d === CLOSE_ARRAY) {
          depth--;
          if (depth === 0) return true;
        }
      }
    }
    // A number, true, false or null: up to the next delimiter.
    const start = this.i;
    for (;;) {
      const d = this.t.charCodeAt(this.i);
      if (Number.isNaN(d) || d === COMMA || d === CLOSE_OBJECT || d === CLOSE_ARRAY || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
      this.i++;
    }
    return this.i > start;
  }

  /** The texts of the array's elements (i at its `[`). */
  elements(): string[] | undefined {
    this.i++;
    const out: string[] = [];
    this.ws();
    if (this.peek() === CLOSE_ARRAY) {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      const start = this.i;
      if (!this.skipValue()) return undefined;
      out.push(this.t.slice(start, this.i));
      this.ws();
      const c = this.next();
      if (c === COMMA) continue;
      if (c === CLOSE_ARRAY) return out;
      return undefined;
    }
  }
}
