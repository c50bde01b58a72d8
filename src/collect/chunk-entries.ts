import type { RawEntry } from '../slack/entry.js';

/**
 * Split one page into chunks of at most `maxEntries` entries and about `maxBytes` of serialized JSON, keeping
 * the page order. An entry bigger than `maxBytes` on its own still gets its own chunk (it cannot be split, and
 * dropping it would lose an event). Deterministic: the same page always gives the same chunks, which keeps
 * ingest job ids stable on replay.
 */
export function chunkEntries(entries: readonly RawEntry[], maxEntries: number, maxBytes: number): RawEntry[][] {
  const chunks: RawEntry[][] = [];
  let current: RawEntry[] = [];
  let bytes = 2; // "[]"
  for (const entry of entries) {
    const size = Buffer.byteLength(JSON.stringify(entry), 'utf8') + 1; // + comma
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
