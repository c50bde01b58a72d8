import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observe/logger.js';
import { registerSecret, scrubSecrets } from '../../src/observe/secrets.js';
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
});
