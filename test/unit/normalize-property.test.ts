import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import ipaddr from 'ipaddr.js';
import { toEcs } from '../../src/normalize/index.js';
import { validIp } from '../../src/normalize/to-ecs.js';
import { createUserAgentParser } from '../../src/normalize/enrich.js';

const ctx = { sourceId: 'p', keepOriginal: true, ingestedAt: '2024-01-01T00:00:00.000Z', userAgent: createUserAgentParser(64) };

/** Entries with a valid core and arbitrary (often wrong-typed) everything else. */
const anyValue = fc.jsonValue({ maxDepth: 4 });
const entryArb = fc.record(
  {
    id: fc.oneof(fc.uuid(), fc.string(), anyValue),
    date_create: fc.oneof(fc.integer({ min: 0, max: 4_102_444_800 }), anyValue),
    action: fc.oneof(fc.constantFrom('user_login', 'anomaly', 'file_downloaded', 'pref.x', 'weird'), fc.string(), anyValue),
    actor: fc.oneof(anyValue, fc.record({ type: anyValue, user: fc.oneof(anyValue, fc.record({ id: anyValue, name: anyValue, email: anyValue, team: anyValue }, { requiredKeys: [] })) }, { requiredKeys: [] })),
    entity: fc.oneof(anyValue, fc.record({ type: fc.oneof(fc.constantFrom('user', 'file', 'channel', 'app', 'x'), anyValue), user: anyValue, file: anyValue, channel: anyValue, x: anyValue }, { requiredKeys: [] })),
    context: fc.oneof(
      anyValue,
      fc.record(
        {
          location: anyValue,
          ua: fc.oneof(fc.string(), anyValue),
          ip_address: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string(), anyValue),
          session_id: anyValue,
          app: anyValue,
        },
        { requiredKeys: [] },
      ),
    ),
    details: fc.oneof(anyValue, fc.dictionary(fc.constantFrom('reason', 'action_timestamp', 'succeeded_users', 'failed_users', 'md5_hash', 'previous_ua', 'previous_ip_address', '', 'x'), anyValue)),
  },
  { requiredKeys: [] },
);

describe('toEcs is total', () => {
  it('never throws, for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (raw) => {
        const r = toEcs(raw, ctx);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('never throws for entry-shaped input; accepted docs are serializable, dated and keyed by the Slack id', () => {
    fc.assert(
      fc.property(entryArb, (raw) => {
        const r = toEcs(raw, ctx);
        if (!r.ok) {
          expect(r.error.code).toBe('SLACK_AUDIT_ENTRY_INVALID');
          return;
        }
        expect(r.id).toBe((raw as { id: unknown }).id);
        expect(Number.isNaN(Date.parse(r.doc['@timestamp']))).toBe(false);
        const json = JSON.stringify(r.doc);
        expect(JSON.parse(json)).toEqual(r.doc);
        const reason = (r.doc.slack.audit.details as Record<string, unknown> | undefined)?.reason;
        if (reason !== undefined) expect(Array.isArray(reason)).toBe(true);
        expect(r.doc.event.category === undefined || r.doc.event.category.length > 0).toBe(true);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('validIp', () => {
  it('accepts exactly the dotted quads ipaddr.js accepts as four-part decimal', () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('00', '01', '010', '0x1', '', ' 1', '-1', '1e1'));
    const dotted = fc.oneof(fc.array(octet, { minLength: 1, maxLength: 6 }).map((p) => p.join('.')), fc.ipV4(), fc.ipV4Extended(), fc.string());
    fc.assert(
      fc.property(dotted, (s) => {
        const expected = s.trim() !== '' && !s.includes('%') && ipaddr.IPv4.isValidFourPartDecimal(s.trim());
        expect(validIp(s) !== undefined && !s.includes(':')).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });

  it('keeps IPv6 and refuses zone ids and junk', () => {
    expect(validIp('2001:db8::1')).toBe('2001:db8::1');
    expect(validIp(' 10.0.0.1 ')).toBe('10.0.0.1');
    expect(validIp('fe80::1%eth0')).toBeUndefined();
    expect(validIp('010.0.0.1')).toBeUndefined();
    expect(validIp('1.2.3')).toBeUndefined();
    expect(validIp('not an ip')).toBeUndefined();
  });
});
