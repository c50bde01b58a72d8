import { describe, expect, it } from 'vitest';
import { toEcs, type EcsDocument } from '../../src/normalize/index.js';
import { createEnrichers } from '../../src/normalize/enrich.js';
import { ELASTIC_SAMPLE_ENTRIES } from '../helpers/conformance.js';

/**
 * Elastic's six sample entries (test/helpers/conformance.ts) and the fields its pipeline produces for them
 * (elastic-slack-audit.md). Our documents must carry at least these fields with these values.
 */
const INPUTS = ELASTIC_SAMPLE_ENTRIES;

const enrichers = createEnrichers({ enabled: true });
const ctx = { sourceId: 'acme', keepOriginal: true, namespace: 'prod', ingestedAt: '2024-01-01T00:00:00.000Z', ...enrichers };

function normalized(i: number): EcsDocument {
  const r = toEcs(JSON.parse(INPUTS[i] as string), ctx);
  if (!r.ok) throw new Error(`input ${i} rejected: ${r.error.message}`);
  return r.doc;
}

function get(doc: unknown, path: string): unknown {
  // Dotted path into nested objects; ECS names such as `@timestamp` are single keys.
  let node: unknown = doc;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

interface Expectation {
  ts: string;
  category: string[] | null;
  type: string[];
  outcome: string | null;
  user: [string, string, string];
  ip: string;
  extra: Record<string, unknown>;
}

const EXPECTED: Expectation[] = [
  { ts: '2018-03-16T15:32:23.000Z', category: ['authentication', 'session'], type: ['info', 'start'], outcome: 'success', user: ['W123AB456', 'bird@slack.com', 'Charlie Parker'], ip: '81.2.69.143', extra: {} },
  {
    ts: '2019-08-19T11:46:32.000Z', category: ['iam'], type: ['creation', 'user'], outcome: null, user: ['e65b0f5c', 'aaron@demo.com', 'roy'], ip: '81.2.69.143',
    extra: { 'slack.audit.entity.entity_type': 'user', 'slack.audit.entity.id': 'asdfasdf', 'slack.audit.entity.name': 'Joe Bob', 'slack.audit.entity.email': 'jbob@example.com', 'slack.audit.entity.team': 'T234SAH2' },
  },
  { ts: '2023-05-11T20:17:55.000Z', category: ['file'], type: ['access'], outcome: null, user: ['2f52269c-4f38-4f08-b56d-c2b968681dbd', 'user.mcuser@abcd.co', 'User McUser'], ip: '81.2.69.144', extra: { 'slack.audit.context.session_id': '913888259765', 'slack.audit.entity.entity_type': 'file', 'slack.audit.entity.filetype': 'image/png', 'slack.audit.entity.title': 'image.png' } },
  { ts: '2023-01-13T17:40:21.862Z', category: null, type: ['info'], outcome: null, user: ['e65b0f5c', 'aaron@demo.com', 'roy'], ip: '81.2.69.143', extra: { 'slack.audit.details.reason': ['asn', 'ip_address'], 'slack.audit.details.location': 'England, GB', 'slack.audit.details.previous_ip_address': '175.16.199.64' } },
  { ts: '2023-07-13T12:01:56.345113Z', category: null, type: ['info'], outcome: null, user: ['U04V6RBUPAK', 'john@example.com', 'John Doe'], ip: '192.168.220.224', extra: { 'slack.audit.details.previous_user_agent': 'com.tinyspeck.chatlyio.NotificationService/23.07.10 (iPhone; iOS 16.5.1; Scale/3.00)', 'slack.audit.context.session_id': '9982493323637', 'slack.audit.details.reason': ['asn', 'ip_address'] } },
  { ts: '2024-03-05T08:39:07.000Z', category: ['file', 'malware'], type: ['info'], outcome: null, user: ['U01MF9XXXX', 'XXXXXXX@elastic.co', 'XXXXXx'], ip: '81.2.69.143', extra: { 'file.hash.md5': '7e2b2819a67bb11b0ca280c1d0646f42', 'related.hash': ['7e2b2819a67bb11b0ca280c1d0646f42'], 'slack.audit.details.md5': '7e2b2819a67bb11b0ca280c1d0646f42' } },
];

describe('Elastic Slack integration conformance (six sample inputs)', () => {
  EXPECTED.forEach((exp, i) => {
    const raw = JSON.parse(INPUTS[i] as string) as Record<string, unknown> & { context: { location: Record<string, string>; ua: string } };
    it(`input ${i} (${String(raw.action)} ${String(raw.id).slice(0, 8)})`, () => {
      const doc = normalized(i);
      expect(doc['@timestamp']).toBe(exp.ts);
      // Elastic's categorization is kept as-is where it has one; where it has none we add ours (never empty).
      if (exp.category) expect(get(doc, 'event.category')).toEqual(expect.arrayContaining(exp.category));
      else expect((get(doc, 'event.category') as string[]).length).toBeGreaterThan(0);
      expect(get(doc, 'event.type')).toEqual(expect.arrayContaining(exp.type));
      if (exp.outcome) expect(get(doc, 'event.outcome')).toBe(exp.outcome);
      expect(get(doc, 'user.id')).toBe(exp.user[0]);
      expect(get(doc, 'user.email')).toBe(exp.user[1]);
      expect(get(doc, 'user.full_name')).toBe(exp.user[2]);
      expect((get(doc, 'related.user') as string[]).slice(0, 2)).toEqual([exp.user[0], exp.user[1]]);
      for (const [path, value] of Object.entries(exp.extra)) expect(get(doc, path), path).toEqual(value);

      // Common to all six.
      expect(get(doc, 'event.id')).toBe(raw.id);
      expect(get(doc, 'event.action')).toBe(raw.action);
      expect(get(doc, 'event.kind')).toBe('event');
      expect(get(doc, 'event.module')).toBe('slack');
      expect(get(doc, 'event.dataset')).toBe('slack.audit');
      expect(get(doc, 'data_stream')).toEqual({ type: 'logs', dataset: 'slack.audit', namespace: 'prod' });
      expect(JSON.parse(get(doc, 'event.original') as string)).toEqual(raw);
      expect(get(doc, 'event.ingested')).toBe('2024-01-01T00:00:00.000Z');
      expect(get(doc, 'source.ip')).toBe(exp.ip);
      expect(get(doc, 'source.address')).toBe(exp.ip);
      expect(get(doc, 'related.ip')).toContain(exp.ip);
      expect(get(doc, 'user_agent.original')).toBe(raw.context.ua);
      expect(get(doc, 'user_agent.os.name')).toEqual(expect.any(String));
      for (const k of ['type', 'id', 'name', 'domain']) expect(get(doc, `slack.audit.context.${k}`)).toBe(raw.context.location[k]);
      expect(get(doc, 'slack.audit.source_id')).toBe('acme');
    });
  });

  it('fills source.geo offline for a public IP (81.2.69.143 is in GB in every GeoLite2 build)', () => {
    const doc = normalized(0);
    expect(get(doc, 'source.geo.country_iso_code')).toBe('GB');
    expect(get(doc, 'source.geo.country_name')).toBe('United Kingdom');
    const loc = get(doc, 'source.geo.location') as { lat: number; lon: number };
    expect(loc.lat).toBeGreaterThan(49);
    expect(loc.lat).toBeLessThan(59);
    // Private addresses have no geo record; they still index with source.ip.
    expect(get(normalized(4), 'source.geo')).toBeUndefined();
  });

  it('parses user agents like Elastic does where it matters (browser, OS, device)', () => {
    const chrome = normalized(0);
    expect(get(chrome, 'user_agent.name')).toBe('Chrome');
    expect(get(chrome, 'user_agent.version')).toBe('64.0.3282.186');
    expect(get(chrome, 'user_agent.os.version')).toBe('10.12.6');
    const firefox = normalized(1);
    expect(get(firefox, 'user_agent.name')).toBe('Firefox');
    expect(get(firefox, 'user_agent.os.full')).toBe('Windows 7');
    const ios = normalized(2);
    expect(get(ios, 'user_agent.os.full')).toBe('iOS 1.4.1');
    expect(get(ios, 'user_agent.device.name')).toBe('iPhone');
    const desktop = normalized(5);
    expect(get(desktop, 'user_agent.name')).toBe('Slack Desktop Client');
    expect(get(desktop, 'user_agent.version')).toBe('4.36.140');
    expect(get(desktop, 'user_agent.os.name')).toBe('Windows');
  });

  it('goes beyond Elastic: affected user as user.target and in related.user, organization for enterprise events', () => {
    const created = normalized(1);
    expect(get(created, 'user.target')).toEqual({ id: 'asdfasdf', email: 'jbob@example.com', full_name: 'Joe Bob', domain: 'T234SAH2' });
    expect(get(created, 'related.user')).toEqual(['e65b0f5c', 'aaron@demo.com', 'asdfasdf', 'jbob@example.com']);
    expect(get(normalized(0), 'organization')).toEqual({ id: 'E1701NCCA', name: 'Birdland' });
    expect(get(created, 'organization')).toBeUndefined();
    const anomaly = normalized(3);
    expect(get(anomaly, 'event.category')).toEqual(['intrusion_detection', 'threat']);
    expect(get(anomaly, 'event.reason')).toBe('asn, ip_address');
    expect(get(anomaly, 'related.ip')).toEqual(['81.2.69.143', '175.16.199.64']);
    // The Slack creation time is kept next to the behaviour time.
    expect(get(anomaly, 'event.created')).toBe('2023-01-13T17:38:51.000Z');
    expect(get(anomaly, 'slack.audit.details.action_timestamp')).toBe(1673631621862);
    expect(get(normalized(4), 'slack.audit.details.action_timestamp')).toBe(1689249716345);
  });
});
