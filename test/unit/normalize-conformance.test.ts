import { describe, expect, it } from 'vitest';
import { toEcs, type EcsDocument } from '../../src/normalize/index.js';
import { createEnrichers } from '../../src/normalize/enrich.js';

/**
 * The six sample entries of Elastic's Slack integration pipeline test, verbatim from
 * ../shared/conformance/elastic-slack-audit-input.ndjson, and the fields its pipeline produces for them
 * (elastic-slack-audit.md). Our documents must carry at least these fields with these values.
 */
const INPUTS: string[] = [
  String.raw`{"id":"0123a45b-6c7d-8900-e12f-3456789gh0i1","date_create":1521214343,"action":"user_login","actor":{"type":"user","user":{"id":"W123AB456","name":"Charlie Parker","email":"bird@slack.com"}},"entity":{"type":"user","user":{"id":"W123AB456","name":"Charlie Parker","email":"bird@slack.com"}},"context":{"location":{"type":"enterprise","id":"E1701NCCA","name":"Birdland","domain":"birdland"},"ua":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_12_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/64.0.3282.186 Safari/537.36","ip_address":"81.2.69.143"}}`,
  String.raw`{"id":"bdcb13e3-28a3-41f0-9ace-a20952def3a0","date_create":1566215192,"action":"user_created","actor":{"type":"user","user":{"id":"e65b0f5c","name":"roy","email":"aaron@demo.com"}},"entity":{"type":"user","user":{"id":"asdfasdf","name":"Joe Bob","email":"jbob@example.com","team":"T234SAH2"}},"context":{"location":{"type":"workspace","id":"e65b11aa","name":"Docker","domain":"Docker"},"ua":"Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:23.0) Gecko/20131011 Firefox/23.0","ip_address":"81.2.69.143"}}`,
  String.raw`{"action":"file_downloaded","actor":{"type":"user","user":{"email":"user.mcuser@abcd.co","id":"2f52269c-4f38-4f08-b56d-c2b968681dbd","name":"User McUser","team":"user-team"}},"context":{"ip_address":"81.2.69.144","location":{"domain":"domain.tld","id":"eedd1a7d-1a92-418d-8b01-51a4c809d0fb","name":"The Place","type":"workspace"},"session_id":913888259765,"ua":"com.tinyspeck.chatlyio/23.04.40 (iPhone; iOS 1.4.1; Scale/3.00)"},"date_create":1683836275,"details":{"url_private":"https://example.com/"},"entity":{"file":{"filetype":"image/png","id":"7edc4c42-f925-47af-979a-22c10e1fefed","name":"image.png","title":"image.png"},"type":"file"},"id":"2db28060-1659-4b27-ad55-fdba12e3a7b1"}`,
  String.raw`{"id":"16f5fb41-c67c-4cf5-a5c4-d90cb58dd5f9","date_create":1673631531,"action":"anomaly","actor":{"type":"user","user":{"id":"e65b0f5c","name":"roy","email":"aaron@demo.com"}},"entity":{"type":"user","user":{"id":"asdfasdf","name":"Joe Bob","email":"jbob@example.com","team":"T234SAH2"}},"context":{"location":{"type":"workspace","id":"e65b11aa","name":"Docker","domain":"Docker"},"ua":"Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:23.0) Gecko/20131011 Firefox/23.0","ip_address":"81.2.69.143"},"details":{"action_timestamp":1673631621862,"location":"England, GB","previous_ip_address":"175.16.199.64","previous_ua":"","reason":["asn","ip_address"]}}`,
  String.raw`{"action":"anomaly","actor":{"type":"user","user":{"email":"john@example.com","id":"U04V6RBUPAK","name":"John Doe","team":"Z0937DXQX"}},"context":{"ip_address":"192.168.220.224","location":{"domain":"example","id":"Z0937DXQX","name":"Acme","type":"workspace"},"session_id":9982493323637,"ua":"com.tinyspeck.chatlyio/23.07.10 (iPhone; iOS 16.5.1; Scale/3.00)"},"date_create":1689249764,"details":{"action_timestamp":1689249716345113,"location":"Tokyo, JP","previous_ip_address":"192.168.79.87","previous_ua":"com.tinyspeck.chatlyio.NotificationService/23.07.10 (iPhone; iOS 16.5.1; Scale/3.00)","reason":["asn","ip_address"]},"entity":{"type":"user","user":{"email":"john@example.com","id":"U04V6RBUPAK","name":"John Doe","team":"Z0937DXQX"}},"id":"abc8e17e-c081-4b82-a515-4c54674e3de4"}`,
  String.raw`{"action":"file_malicious_content_detected","actor":{"type":"user","user":{"email":"XXXXXXX@elastic.co","id":"U01MF9XXXX","name":"XXXXXx","team":"T0CUXXXXX"}},"context":{"ip_address":"81.2.69.143","location":{"domain":"elastic","id":"XXXXXX","name":"Elastic","type":"workspace"},"session_id":5458207163185,"ua":"Mozilla/5.0 (Windows NT 10.0.19045; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.36.140 Chrome/120.0.6099.227 Electron/28.2.0 Safari/537.36 OS_Product/Workstation Servicing_Channel/SAC Sonic Slack_SSB/4.36.140"},"date_create":1709627947,"details":{"md5_hash":"7e2b2819a67bb11b0ca280c1d0646f42"},"entity":{"file":{"filetype":"","id":"F06XXXXXXX","name":"mimi.zip","title":""},"type":"file"},"id":"bbcf1d28-4012-4771-8179-8a59c6f2bffa"}`,
];

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
