import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvHeader, csvLine, ndjsonLine } from '../../src/export/records.js';
import { syntheticDoc, syntheticEntry } from '../../src/export/synthetic-events.js';
import { RecordScanner } from '../../src/export/verify-export.js';

const docs = Array.from({ length: 30 }, (_, i) => syntheticDoc(syntheticEntry(i, { seed: 3, startSec: 1_700_000_000 }), 'acme', i % 2 === 0));

function scan(format: 'csv' | 'ndjson', text: string, cuts: number[]) {
  const buf = Buffer.from(text, 'utf8');
  const scanner = new RecordScanner(format);
  let prev = 0;
  for (const c of [...cuts.map((x) => x % (buf.length + 1))].sort((a, b) => a - b)) {
    scanner.push(buf.subarray(prev, c));
    prev = c;
  }
  scanner.push(buf.subarray(prev));
  return scanner.end();
}

describe('verify record scanner', () => {
  it('counts CSV records (quoted newlines included) like csv-parse does, however the bytes are chunked', () => {
    const text = csvHeader() + docs.map(csvLine).join('');
    const expected = parse<Record<string, string>>(text, { columns: true });
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        const r = scan('csv', text, cuts);
        expect(r.malformed).toBeNull();
        expect(r.records).toBe(expected.length);
        expect(r.first).toBe(expected[0]?.timestamp);
        expect(r.last).toBe(expected[expected.length - 1]?.timestamp);
      }),
      { numRuns: 100 },
    );
  });

  it('counts NDJSON records and reports malformed lines and a missing final newline', () => {
    const text = docs.map(ndjsonLine).join('');
    const r = scan('ndjson', text, [5, 700, 3000]);
    expect(r).toMatchObject({ records: 30, malformed: null, first: '2023-11-14T22:13:20.000Z' });
    expect(scan('ndjson', `${text}{"x":1}\n`, []).malformed).toMatch(/record 31/);
    expect(scan('ndjson', text.slice(0, -1), []).malformed).toMatch(/final newline/);
    expect(scan('csv', docs.map(csvLine).join(''), []).malformed).toMatch(/header/);
  });
});
