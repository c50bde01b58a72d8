import { z } from 'zod';

/**
 * Durations in rule files are short strings: `90s`, `10m`, `1h`, `30d` (or a bare number of seconds).
 * One unit per value keeps them unambiguous in YAML and trivial to read.
 */
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };
const DURATION_RE = /^(\d{1,7})(s|m|h|d|w)$/;

export function parseDuration(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isInteger(text) && text > 0 ? text * 1000 : undefined;
  const m = DURATION_RE.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = UNIT_MS[m[2] as string] as number;
  return n > 0 ? n * unit : undefined;
}

/** zod type: a duration string (or seconds) parsed to milliseconds; max one year. */
export const durationSchema = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined || ms > 366 * 86_400_000) {
    ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(v)}: use e.g. 90s, 10m, 1h, 30d (max 366d)` });
    return z.NEVER;
  }
  return ms;
});

export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}
