import { describe, expect, it } from 'vitest';
import { toEcs, type EcsDocument, type NormalizeResult } from '../../src/normalize/index.js';
import { actionTimestamp } from '../../src/normalize/to-ecs.js';
import { createEnrichers } from '../../src/normalize/enrich.js';

const enrichers = createEnrichers({ enabled: true });
const ctx = { sourceId: 'acme', keepOriginal: true, namespace: 'default', ...enrichers };

function base(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'e-1',
    date_create: 1767346140,
    action: 'user_login',
    actor: { type: 'user', user: { id: 'W1', name: 'Alice', email: 'alice@example.com', team: 'T1' } },
    entity: { type: 'user', user: { id: 'W1', name: 'Alice', email: 'alice@example.com', team: 'T1' } },
    context: { location: { type: 'workspace', id: 'T1', name: 'Eng', domain: 'eng' }, ua: 'curl/8.0', ip_address: '198.51.100.7', session_id: 123 },
    ...over,
  };
}

function ok(r: NormalizeResult): EcsDocument {
  if (!r.ok) throw new Error(`rejected: ${r.error.message}`);
  return r.doc;
}

function withContext(over: Record<string, unknown>): Record<string, unknown> {
  return base({ context: { ...(base().context as Record<string, unknown>), ...over } });
}

describe('odd entry shapes', () => {
  it('IPv6 addresses become source.ip and related.ip; IPv4-mapped IPv6 too', () => {
    const doc = ok(toEcs(withContext({ ip_address: '2001:db8::1' }), ctx));
    expect(doc.source).toMatchObject({ ip: '2001:db8::1', address: '2001:db8::1' });
    expect(doc.related).toMatchObject({ ip: ['2001:db8::1'] });
    const mapped = ok(toEcs(withContext({ ip_address: '::ffff:81.2.69.143' }), ctx));
    expect(mapped.source).toMatchObject({ ip: '::ffff:81.2.69.143', geo: { country_iso_code: 'GB' } });
  });

  it('an empty or missing ip_address leaves source out instead of failing', () => {
    for (const ip of ['', '   ', null, undefined]) {
      const doc = ok(toEcs(withContext({ ip_address: ip }), ctx));
      expect(doc.source).toBeUndefined();
      expect((doc.related as Record<string, unknown> | undefined)?.ip).toBeUndefined();
    }
  });

  it('an address ES could not store as `ip` is kept in source.address only', () => {
    const doc = ok(toEcs(withContext({ ip_address: '10.0.0.1:443' }), ctx));
    expect(doc.source).toEqual({ address: '10.0.0.1:443' });
  });

  it('null, missing and present context.app', () => {
    expect(ok(toEcs(withContext({ app: null }), ctx)).slack.audit.context).not.toHaveProperty('app');
    const app = { id: 'A1', name: 'Bot', scopes: ['admin.users:write'], scopes_bot: [], creator: 'W9', team: 'E1' };
    const doc = ok(toEcs(withContext({ app }), ctx));
    expect((doc.slack.audit.context as Record<string, unknown>).app).toEqual({ id: 'A1', name: 'Bot', scopes: ['admin.users:write'], scopes_bot: [], creator: 'W9', team: 'E1' });
  });

  it('session_id is always a string (number, string), and absent when null', () => {
    expect((ok(toEcs(withContext({ session_id: 913888259765 }), ctx)).slack.audit.context as Record<string, unknown>).session_id).toBe('913888259765');
    expect((ok(toEcs(withContext({ session_id: '847288190092' }), ctx)).slack.audit.context as Record<string, unknown>).session_id).toBe('847288190092');
    expect(ok(toEcs(withContext({ session_id: null }), ctx)).slack.audit.context).not.toHaveProperty('session_id');
  });

  it('a boolean session_id (off-schema) is not dropped: it moves to slack.audit.extra.invalid', () => {
    const doc = ok(toEcs(withContext({ session_id: true }), ctx));
    expect(doc.slack.audit.extra).toEqual({ invalid: { 'context.session_id': true } });
    expect(doc.slack.audit.context).not.toHaveProperty('session_id');
  });

  it('string, array and object details all index under the flattened slack.audit.details', () => {
    expect(ok(toEcs(base({ details: 'just text' }), ctx)).slack.audit.details).toEqual({ value: 'just text' });
    expect(ok(toEcs(base({ details: ['a', { b: 1 }] }), ctx)).slack.audit.details).toEqual({ value: ['a', { b: 1 }] });
    const obj = ok(toEcs(base({ details: { new_value: { a: ['x'] }, previous_value: 'y', n: null } }), ctx));
    expect(obj.slack.audit.details).toEqual({ new_value: { a: ['x'] }, previous_value: 'y' });
  });

  it('details.reason is always an array; succeeded/failed users are arrays in both wire forms', () => {
    const a = ok(toEcs(base({ action: 'anomaly', details: { reason: 'tor' } }), ctx));
    expect((a.slack.audit.details as Record<string, unknown>).reason).toEqual(['tor']);
    expect(a.event.reason).toBe('tor');
    const bulk = ok(toEcs(base({ action: 'bulk_session_reset_by_admin', details: { succeeded_users: '["W1","W2"]', failed_users: ['W3'] } }), ctx));
    expect(bulk.slack.audit.details).toEqual({ succeeded_users: ['W1', 'W2'], failed_users: ['W3'] });
    const odd = ok(toEcs(base({ details: { succeeded_users: 'W7', failed_users: '' } }), ctx));
    expect(odd.slack.audit.details).toEqual({ succeeded_users: ['W7'], failed_users: [] });
  });

  it('action_timestamp in s, ms, µs and ns', () => {
    expect(actionTimestamp(1673631621)?.iso).toBe('2023-01-13T17:40:21.000Z');
    expect(actionTimestamp(1673631621862)?.iso).toBe('2023-01-13T17:40:21.862Z');
    expect(actionTimestamp(1689249716345113)?.iso).toBe('2023-07-13T12:01:56.345113Z');
    expect(actionTimestamp(1689249716345113000)?.ms).toBe(1689249716345);
    expect(actionTimestamp('1673631621862')?.ms).toBe(1673631621862);
    expect(actionTimestamp(-5)).toBeUndefined();
    expect(actionTimestamp('soon')).toBeUndefined();
    // A garbage action_timestamp keeps date_create as @timestamp and the raw value in details.
    const doc = ok(toEcs(base({ action: 'anomaly', details: { action_timestamp: 'soon' } }), ctx));
    expect(doc['@timestamp']).toBe('2026-01-02T09:29:00.000Z');
    expect(doc.slack.audit.details).toEqual({ action_timestamp_raw: 'soon' });
  });

  it('unknown entity types keep their payload under slack.audit.entity', () => {
    const doc = ok(toEcs(base({ action: 'hologram_created', entity: { type: 'hologram', hologram: { id: 'H1', name: 'Holo', depth: { z: 3 }, is_shared: 'maybe' } } }), ctx));
    expect(doc.slack.audit.entity).toEqual({ entity_type: 'hologram', id: 'H1', name: 'Holo', other: { depth: { z: 3 }, is_shared: 'maybe' } });
    expect(doc.user).not.toHaveProperty('target');
    const mismatched = ok(toEcs(base({ entity: { type: 'huddle', participants: ['W1'] } }), ctx));
    expect(mismatched.slack.audit.entity).toEqual({ entity_type: 'huddle', other: { '_entity.participants': ['W1'] } });
  });

  it('known entity types map their fields (channel, app, file, enterprise)', () => {
    const ch = ok(toEcs(base({ entity: { type: 'channel', channel: { id: 'C1', name: 'general', privacy: 'public', is_shared: false, teams_shared_with: ['T2'] } } }), ctx));
    expect(ch.slack.audit.entity).toEqual({ entity_type: 'channel', id: 'C1', name: 'general', privacy: 'public', is_shared: false, teams_shared_with: ['T2'] });
    const file = ok(toEcs(base({ action: 'file_downloaded', entity: { type: 'file', file: { id: 'F1', name: 'a.png', filetype: 'image/png' } } }), ctx));
    expect(file.file).toEqual({ name: 'a.png', mime_type: 'image/png' });
    const ent = ok(toEcs(base({ entity: { type: 'enterprise', enterprise: { id: 'E1', name: 'Corp', domain: 'corp' } } }), ctx));
    expect(ent.organization).toEqual({ id: 'E1', name: 'Corp' });
  });

  it('a 60 KB details value is kept whole', () => {
    const big = 'x'.repeat(60 * 1024);
    const doc = ok(toEcs(base({ details: { blob: big, nested: { more: big } } }), ctx));
    expect(((doc.slack.audit.details as Record<string, unknown>).blob as string).length).toBe(60 * 1024);
    expect((doc.event.original ?? '').length).toBeGreaterThan(120 * 1024);
  });

  it('very deep details are cut to a JSON string before the flattened depth limit', () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 40; i++) deep = { d: deep };
    const doc = ok(toEcs(base({ details: { deep } }), ctx));
    let node: unknown = (doc.slack.audit.details as Record<string, unknown>).deep;
    let depth = 0;
    while (node !== null && typeof node === 'object') {
      node = (node as Record<string, unknown>).d;
      depth++;
    }
    expect(depth).toBeLessThan(20);
    expect(typeof node).toBe('string');
  });

  it('unknown top-level and context fields are preserved under slack.audit.extra', () => {
    const doc = ok(toEcs(base({ acting_agent: 'Slackbot', agent_message: { channel_id: 'C1' }, context: { ...(base().context as object), brand_new: 1 } }), ctx));
    expect(doc.slack.audit.extra).toEqual({ acting_agent: 'Slackbot', agent_message: { channel_id: 'C1' }, context: { brand_new: 1 } });
  });

  it('keepOriginal false omits event.original and the tag', () => {
    const doc = ok(toEcs(base(), { ...ctx, keepOriginal: false }));
    expect(doc.event.original).toBeUndefined();
    expect(doc.tags).toBeUndefined();
  });

  it('rejects entries without the keys we index by, with a stable code and reason', () => {
    const cases: [unknown, string][] = [
      [null, 'not_an_object'],
      [[1, 2], 'not_an_object'],
      ['text', 'not_an_object'],
      [base({ id: undefined }), 'missing_id'],
      [base({ id: 42 }), 'missing_id'],
      [base({ action: '' }), 'missing_action'],
      [base({ date_create: '1700000000' }), 'invalid_date_create'],
      [base({ date_create: 1.5 }), 'invalid_date_create'],
      [base({ date_create: 1e15 }), 'date_out_of_range'],
    ];
    for (const [input, reason] of cases) {
      const r = toEcs(input, ctx);
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.error.code).toBe('SLACK_AUDIT_ENTRY_INVALID');
      expect(r.error.details.reason).toBe(reason);
    }
  });

  it('a throwing enricher only loses its own fields', () => {
    const boom = () => {
      throw new Error('db gone');
    };
    const doc = ok(toEcs(base(), { ...ctx, geo: boom, userAgent: boom }));
    expect(doc.source).toEqual({ address: '198.51.100.7', ip: '198.51.100.7' });
    expect(doc.user_agent).toEqual({ original: 'curl/8.0' });
  });
});
