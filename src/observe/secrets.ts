/**
 * Secret values known to this process (tokens, ES credentials, signing keys). Anything that leaves the
 * process (logs, error messages, ES documents, DLQ records) passes through `scrubSecrets` as a last line
 * of defence behind pino's path-based redaction, so a token pasted into an odd place still never leaks.
 */
const secrets = new Set<string>();
const REDACTED = '[REDACTED]';

export function registerSecret(value: string | undefined | null): void {
  // Very short values would scrub innocent text; real tokens and keys are long.
  if (value && value.length >= 8) secrets.add(value);
}

export function knownSecretCount(): number {
  return secrets.size;
}

export function scrubString(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  // Bearer tokens in any header-ish text, even ones we were never told about.
  return out.replace(/\b(xox[abposr]-[A-Za-z0-9-]{6,})/g, REDACTED).replace(/(Bearer\s+)[^\s"',]+/gi, `$1${REDACTED}`);
}

export function scrubSecrets<T>(value: T): T {
  return scrub(value, 0) as T;
}

function scrub(value: unknown, depth: number): unknown {
  if (depth > 64) return value;
  if (typeof value === 'string') return scrubString(value);
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (value instanceof Error) {
    const plain: Record<string, unknown> = { name: value.name, message: scrubString(value.message) };
    if (value.stack) plain.stack = scrubString(value.stack);
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) plain.code = code;
    return plain;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1);
    return out;
  }
  return value;
}
