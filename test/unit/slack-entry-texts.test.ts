import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entryTexts } from '../../src/slack/entry-texts.js';

describe('entryTexts', () => {
  it('slices each entry as sent: parsing the slices gives the parsed entries, compact bodies give JSON.stringify', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 4 }), { maxLength: 12 }), fc.constantFrom(undefined, 1, 2, '\t'), fc.boolean(), (entries, indent, entriesFirst) => {
        const meta = { response_metadata: { next_cursor: 'abc"\\' } };
        const envelope = entriesFirst ? { entries, ok: true, ...meta } : { ok: true, ...meta, entries };
        const body = JSON.stringify(envelope, null, indent);
        const texts = entryTexts(body);
        expect(texts).toBeDefined();
        expect(texts?.map((t) => JSON.parse(t) as unknown)).toEqual(JSON.parse(JSON.stringify(entries)));
        if (indent === undefined) expect(texts).toEqual(entries.map((e) => JSON.stringify(e)));
      }),
      { numRuns: 2000 },
    );
  });

  it('handles escapes, odd spacing and an escaped member name', () => {
    const body = ' { "ok" : true , "\\u0065ntries" : [ {"a":"x\\"}\\\\","b":[1,{"c":"]"}]} , "s\\\\" , -1.5e3 , null ] , "n": {"e":"entries"} } ';
    expect(entryTexts(body)).toEqual(['{"a":"x\\"}\\\\","b":[1,{"c":"]"}]}', '"s\\\\"', '-1.5e3', 'null']);
  });

  it('gives up (the caller serializes) on anything but exactly one entries array', () => {
    expect(entryTexts('{"ok":true}')).toBeUndefined();
    expect(entryTexts('{}')).toBeUndefined();
    expect(entryTexts('[1,2]')).toBeUndefined();
    expect(entryTexts('{"entries":{"a":1}}')).toBeUndefined();
    expect(entryTexts('{"entries":[1],"entries":[2]}')).toBeUndefined();
    expect(entryTexts('{"entries":[1,2')).toBeUndefined();
    expect(entryTexts('{"entries":[]}')).toEqual([]);
  });
});
