import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observe/logger.js';
import { registerSecret, scrubSecrets, scrubbedJson } from '../../src/observe/secrets.js';
import { toEcs } from '../../src/normalize/index.js';
import { createUserAgentParser } from '../../src/normalize/enrich.js';
import { SlackAuditError } from '../../src/errors.js';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { lines, stream };
}

describe('logging never leaks secrets', () => {
  const token = 'xoxp-unit-test-token-5a6b7c8d9e';
  const apiKey = 'ZXNhcGlrZXktdW5pdC10ZXN0LXNlY3JldA==';
  registerSecret(token);
  registerSecret(apiKey);

  it('redacts tokens, Authorization headers and API keys by path and by value, in messages and errors', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'info', pretty: false, destination: stream });
    log.info({ token, headers: { authorization: `Bearer ${token}` }, config: { elasticsearch: { apiKey } } }, 'starting');
    log.warn(`request failed for ${token}`);
    log.error({ err: new SlackAuditError('SLACK_AUDIT_SLACK_FATAL', `invalid_auth with token ${token}`) }, 'fatal');
    log.info({ nested: { deep: { note: `someone pasted ${apiKey} here` } } }, 'odd place');
    log.info({ header: 'Authorization: Bearer xoxb-some-other-token-we-never-saw' }, 'unknown token');
    const out = lines.join('');
    expect(lines.length).toBe(5);
    expect(out).not.toContain(token);
    expect(out).not.toContain(apiKey);
    expect(out).not.toContain('xoxb-some-other-token-we-never-saw');
    expect(out).toContain('[REDACTED]');
    expect(out).toContain('SLACK_AUDIT_SLACK_FATAL');
  });

  it('scrubs documents and DLQ records before they leave the process', () => {
    const doc = { slack: { audit: { entity: { name: `channel ${token}` } } }, list: [apiKey], n: 3 };
    const clean = scrubSecrets(doc);
    expect(JSON.stringify(clean)).not.toContain(token);
    expect(JSON.stringify(clean)).not.toContain(apiKey);
    expect(clean.n).toBe(3);
    expect(doc.slack.audit.entity.name).toContain(token); // the input is not mutated
  });

  it('scrubbedJson: one scan of the serialized entry; the untouched value comes back as is', () => {
    const plain = { id: 'a', context: { ua: 'Mozilla/5.0', ip_address: '10.0.0.1' }, details: { n: 1 } };
    const r = scrubbedJson(plain);
    expect(r.value).toBe(plain);
    expect(r.json).toBe(JSON.stringify(plain));
    // A secret JSON must escape (quote, backslash) is still found in the serialized text.
    const password = 'pa"ss\\word-unit-1';
    registerSecret(password);
    const odd = { details: { note: `pw ${password}` } };
    const s = scrubbedJson(odd);
    expect(s.value).not.toBe(odd);
    expect(JSON.stringify(s.value)).not.toContain(JSON.stringify(password).slice(1, -1));
    expect(s.json).toBe(JSON.stringify(s.value));
    expect(scrubbedJson(undefined)).toEqual({ value: undefined, json: undefined });
    // The text as Slack sent it may spell letters as \u escapes: the scan must not be fooled.
    const sent = '{"details":{"note":"\\u0078oxp-hidden-token-1234"}}';
    const hidden = scrubbedJson(JSON.parse(sent) as unknown, sent);
    expect(JSON.stringify(hidden.value)).not.toContain('xoxp-hidden');
    expect(hidden.json).not.toContain('hidden-token');
    // A registered secret with a slash, in text whose encoder escapes the solidus.
    registerSecret('sl/ash-secret-value');
    const escaped = '{"details":{"note":"sl\\/ash-secret-value"}}';
    const found = scrubbedJson(JSON.parse(escaped) as unknown, escaped);
    expect(JSON.stringify(found.value)).not.toContain('ash-secret-value');
  });

  it('an entry scrubbed at the boundary yields a document with no secret in any field, event.original included', () => {
    const entry = {
      id: 'e-1',
      date_create: 1_700_000_000,
      action: 'user_login',
      actor: { type: 'user', user: { id: 'W1', name: `name ${token}`, email: 'a@example.com' } },
      entity: { type: 'user', user: { id: 'W1', name: 'x' } },
      context: { ua: `curl/8.0 Bearer ${token}`, ip_address: '10.0.0.1', location: { type: 'enterprise', id: 'E1', name: 'Ent', domain: 'ent' } },
      details: { note: `pasted ${apiKey}`, unknown: 'Bearer xoxb-never-registered-token-1' },
    };
    const { value, json } = scrubbedJson(entry);
    const r = toEcs(value, { keepOriginal: true, userAgent: createUserAgentParser(8) }, json);
    expect(r.ok).toBe(true);
    const out = JSON.stringify(r.ok ? r.doc : null);
    expect(out).not.toContain(token);
    expect(out).not.toContain(apiKey);
    expect(out).not.toContain('xoxb-never-registered-token-1');
    expect(out).toContain('[REDACTED]');
  });
});
