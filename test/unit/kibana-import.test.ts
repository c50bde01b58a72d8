import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MockAgent, FormData } from 'undici';
import { importKibanaObjects, parseSavedObjects, KIBANA_NDJSON } from '../../src/kibana/import.js';
import { SlackAuditError } from '../../src/errors.js';
import { createLogger } from '../../src/observe/logger.js';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const KIBANA = 'http://kibana.test:5601';
const log = createLogger({ level: 'silent' });
const committedCount = parseSavedObjects(readFileSync(KIBANA_NDJSON, 'utf8')).length;

interface Captured {
  path: string;
  headers: Record<string, string>;
  form: FormData;
}

let agent: MockAgent;
beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
});
afterEach(async () => {
  await agent.close();
});

function intercept(path: string, status: number, body: unknown, captured: Captured[]): void {
  agent
    .get(KIBANA)
    .intercept({ path, method: 'POST' })
    .reply(status, (opts) => {
      captured.push({ path: opts.path, headers: opts.headers as Record<string, string>, form: opts.body as unknown as FormData });
      return body as object;
    });
}

async function fileText(form: FormData): Promise<string> {
  const file = form.get('file');
  if (!(file instanceof Blob)) throw new Error('no file part in the multipart body');
  return file.text();
}

describe('importKibanaObjects', () => {
  it('POSTs the NDJSON as multipart `file` to _import?overwrite=true with kbn-xsrf and API-key auth', async () => {
    const captured: Captured[] = [];
    intercept('/api/saved_objects/_import?overwrite=true', 200, { success: true, successCount: committedCount, successResults: [] }, captured);
    const res = await importKibanaObjects(`${KIBANA}/`, { namespace: 'prod', auth: { apiKey: 'a2liYW5hLWFwaS1rZXktdGVzdA==' }, log, dispatcher: agent });
    expect(res).toEqual({ imported: committedCount });
    expect(captured).toHaveLength(1);
    const req = captured[0] as Captured;
    expect(req.headers['kbn-xsrf']).toBeTruthy();
    expect(req.headers.authorization).toBe('ApiKey a2liYW5hLWFwaS1rZXktdGVzdA==');
    expect(req.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const sent = parseSavedObjects(await fileText(req.form));
    expect(sent).toHaveLength(committedCount);
    // Templated for the namespace: ids suffixed, data views narrowed to the namespace's indices.
    expect(sent.every((o) => o.id.endsWith('-prod'))).toBe(true);
    expect(sent.find((o) => o.id === 'slack-audit-events-prod')?.attributes.title).toBe('logs-slack.audit-prod-*');
    expect(sent.find((o) => o.id === 'slack-audit-alerts-prod')?.attributes.title).toBe('slack-audit-alerts-prod,slack-audit-alerts-prod-*');
  });

  it('uses the space path and basic auth when asked; namespace `*` sends the file as committed', async () => {
    const captured: Captured[] = [];
    intercept('/s/security/api/saved_objects/_import?overwrite=true', 200, { success: true, successCount: committedCount }, captured);
    await importKibanaObjects(KIBANA, { namespace: '*', space: 'security', auth: { username: 'elastic', password: 'changeme-long-pw' }, log, dispatcher: agent });
    const req = captured[0] as Captured;
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('elastic:changeme-long-pw').toString('base64')}`);
    expect(await fileText(req.form)).toBe(readFileSync(KIBANA_NDJSON, 'utf8'));
  });

  it('fails when Kibana reports per-object errors, even with HTTP 200', async () => {
    intercept('/api/saved_objects/_import?overwrite=true', 200, {
      success: false,
      successCount: 2,
      errors: [{ id: 'slack-audit-overview-x', type: 'dashboard', title: 'Slack audit overview', error: { type: 'missing_references', references: [{ type: 'lens', id: 'nope' }] } }],
    }, []);
    const err = await importKibanaObjects(KIBANA, { namespace: 'x', log, dispatcher: agent }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlackAuditError);
    expect((err as SlackAuditError).code).toBe('SLACK_AUDIT_KIBANA_IMPORT_FAILED');
    expect((err as Error).message).toContain('dashboard/slack-audit-overview-x: missing_references');
    expect((err as Error).message).toContain(`2/${committedCount}`);
  });

  it('401 is terminal with a credentials hint and never echoes the secret; 503 is retryable', async () => {
    intercept('/api/saved_objects/_import?overwrite=true', 401, { statusCode: 401, error: 'Unauthorized', message: 'bad key very-secret-api-key-123' }, []);
    const e401 = (await importKibanaObjects(KIBANA, { namespace: 'x', auth: { apiKey: 'very-secret-api-key-123' }, log, dispatcher: agent }).catch((e: unknown) => e)) as SlackAuditError;
    expect(e401.retryable).toBe(false);
    expect(e401.message).toContain('HTTP 401');
    expect(e401.message).toContain('credentials');
    expect(e401.message).not.toContain('very-secret-api-key-123');

    intercept('/api/saved_objects/_import?overwrite=true', 503, { message: 'Kibana server is not ready yet' }, []);
    const e503 = (await importKibanaObjects(KIBANA, { namespace: 'x', log, dispatcher: agent }).catch((e: unknown) => e)) as SlackAuditError;
    expect(e503.retryable).toBe(true);
  });

  it('an unreachable Kibana is a retryable error naming the URL', async () => {
    agent.get(KIBANA).intercept({ path: '/api/saved_objects/_import?overwrite=true', method: 'POST' }).replyWithError(new Error('connect ECONNREFUSED'));
    const err = (await importKibanaObjects(KIBANA, { namespace: 'x', log, dispatcher: agent }).catch((e: unknown) => e)) as SlackAuditError;
    expect(err.code).toBe('SLACK_AUDIT_KIBANA_IMPORT_FAILED');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(KIBANA);
  });
});

describe('parseSavedObjects', () => {
  it('names the line of a bad object', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kbn-'));
    const file = join(dir, 'bad.ndjson');
    writeFileSync(file, '{"type":"index-pattern","id":"a","attributes":{"title":"x"}}\n{"type":"search","attributes":{}}\n');
    expect(() => parseSavedObjects(readFileSync(file, 'utf8'))).toThrow(/line 2: id/);
    expect(() => parseSavedObjects('{"type":"x","id":"y","attributes":{}}\nnot json\n')).toThrow(/line 2 is not JSON/);
  });
});
