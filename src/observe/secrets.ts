/**
 * Secret values known to this process (tokens, ES credentials, signing keys). Anything that leaves the
 * process (logs, error messages, ES documents, DLQ records) passes through `scrubSecrets` as a last line
 * of defence behind pino's path-based redaction, so a token pasted into an odd place still never leaks.
 */
const secrets = new Set<string>();
/** Each secret as it appears inside a JSON string literal (quotes, backslashes and control characters escaped). */
const secretsInJson = new Set<string>();
const REDACTED = '[REDACTED]';

export function registerSecret(value: string | undefined | null): void {
  // Very short values would scrub innocent text; real tokens and keys are long.
  if (value && value.length >= 8) {
    secrets.add(value);
    const inJson = JSON.stringify(value).slice(1, -1);
    secretsInJson.add(inJson);
    // Encoders that escape the solidus (Slack's does) write "/" as "\/".
    if (inJson.includes('/')) secretsInJson.add(inJson.replaceAll('/', '\\/'));
  }
}

export function knownSecretCount(): number {
  return secrets.size;
}

const MAY_HOLD_TOKEN = /xox|bearer/i;

export function scrubString(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  // Bearer tokens in any header-ish text, even ones we were never told about.
  if (!MAY_HOLD_TOKEN.test(out)) return out;
  return out.replace(/\b(xox[abposr]-[A-Za-z0-9-]{6,})/g, REDACTED).replace(/(Bearer\s+)[^\s"',]+/gi, `$1${REDACTED}`);
}

export function scrubSecrets<T>(value: T): T {
  return scrub(value, 0) as T;
}

/** Copy-on-write: an object or array comes back as the same reference when nothing in it changed (the common case). */
function scrub(value: unknown, depth: number): unknown {
  if (depth > 64) return value;
  if (typeof value === 'string') return scrubString(value);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const c = scrub(v, depth + 1);
      if (c !== v) (out ??= value.slice())[i] = c;
    }
    return out ?? value;
  }
  if (value instanceof Error) {
    const plain: Record<string, unknown> = { name: value.name, message: scrubString(value.message) };
    if (value.stack) plain.stack = scrubString(value.stack);
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) plain.code = code;
    return plain;
  }
  if (value !== null && typeof value === 'object') {
    let out: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(value)) {
      const c = scrub(v, depth + 1);
      if (c !== v) (out ??= { ...(value as Record<string, unknown>) })[k] = c;
    }
    return out ?? value;
  }
  return value;
}

/**
 * Scrub a JSON value and serialize it. One scan of the serialized text decides whether any string in it can
 * hold a secret; only then is the value walked and copied (the common case costs one JSON.stringify, which the
 * caller needed anyway, or none when the caller has the value's text: `serialized`, returned as is when clean).
 * `json` is the scrubbed value's JSON, undefined when the value has none (cycles, BigInt).
 */
export function scrubbedJson<T>(value: T, serialized?: string): { value: T; json: string | undefined } {
  let json: string | undefined;
  try {
    json = serialized ?? serialize(value);
  } catch {
    return { value: scrubSecrets(value), json: undefined };
  }
  if (json === undefined || !mayHoldSecret(json)) return { value, json };
  const clean = scrubSecrets(value);
  return { value: clean, json: JSON.stringify(clean) };
}

/** JSON.stringify as it really behaves: undefined (not a string) for `undefined`, functions and symbols. */
function serialize(value: unknown): string | undefined {
  const json: unknown = JSON.stringify(value);
  return typeof json === 'string' ? json : undefined;
}

function mayHoldSecret(json: string): boolean {
  // A \u escape can spell any character, so text that has one is walked value by value (Slack's encoder
  // escapes non-ASCII this way; a hostile one could hide a token's letters).
  if (MAY_HOLD_TOKEN.test(json) || json.includes('\\u')) return true;
  for (const s of secretsInJson) if (json.includes(s)) return true;
  return false;
}
