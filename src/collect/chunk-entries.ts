import type { RawEntry } from '../slack/entry.js';

/**
 * Split one page into chunks of at most `maxEntries` entries and about `maxBytes` of serialized JSON, keeping
 * the page order. An entry bigger than `maxBytes` on its own still gets its own chunk (it cannot be split, and
 * dropping it would lose an event). Deterministic: the same page always gives the same chunks, which keeps
 * ingest job ids stable on replay.
 */
export function chunkEntries(entries: readonly RawEntry[], maxEntries: number, maxBytes: number): RawEntry[][] {
  return chunkBySize(entries, (e) => Buffer.byteLength(JSON.stringify(e), 'utf8'), maxEntries, maxBytes);
}

/** The same cut for entries already in JSON text (sized by their own bytes, nothing serialized). */
export function chunkTexts(texts: readonly string[], maxEntries: number, maxBytes: number): string[][] {
  return chunkBySize(texts, (t) => Buffer.byteLength(t, 'utf8'), maxEntries, maxBytes);
}

function chunkBySize<T>(entries: readonly T[], sizeOf: (entry: T) => number, maxEntries: number, maxBytes: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 2; // "[]"
  for (const entry of entries) {
    const size = sizeOf(entry) + 1; // + comma
    if (current.length > 0 && (current.length >= maxEntries || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 2;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
