/**
 * Import the committed saved objects (config/kibana/slack-audit.ndjson) into Kibana through the saved-objects
 * `_import?overwrite=true` API: multipart/form-data with the NDJSON as the `file` part, and the `kbn-xsrf`
 * header Kibana requires on every write. Kibana answers 200 even when some objects fail, with
 * `success:false` and an `errors` array, so the body decides success, not the status code.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fetch, FormData, type Dispatcher } from 'undici';
import { z } from 'zod';
import { PROJECT_ROOT } from '../config/load.js';
import { SlackAuditError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import { registerSecret, scrubString } from '../observe/secrets.js';
import { DATA_VIEWS, type SavedObject } from './objects.js';

export const KIBANA_NDJSON = resolve(PROJECT_ROOT, 'config', 'kibana', 'slack-audit.ndjson');

export type KibanaAuth = { apiKey: string } | { username: string; password: string };

export interface ImportOptions {
  /** Our namespace: data views are narrowed to its indices and ids get a `-<namespace>` suffix. `*` imports the file as committed (all namespaces). */
  namespace: string;
  auth?: KibanaAuth;
  /** Kibana space id; default space when absent. */
  space?: string;
  log: Pick<Logger, 'info' | 'warn'>;
  /** NDJSON file; defaults to the committed one. */
  file?: string;
  timeoutMs?: number;
  /** undici dispatcher (tests use a MockAgent). */
  dispatcher?: Dispatcher;
}

const savedObjectLine = z
  .object({
    type: z.string().min(1),
    id: z.string().min(1),
    attributes: z.record(z.string(), z.unknown()),
    references: z.array(z.object({ name: z.string(), type: z.string(), id: z.string() })).default([]),
  })
  .loose();

/** Parse saved-object NDJSON; throws with the line number of the first bad line. */
export function parseSavedObjects(text: string): SavedObject[] {
  const out: SavedObject[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      throw new SlackAuditError('SLACK_AUDIT_KIBANA_IMPORT_FAILED', `saved objects line ${i + 1} is not JSON: ${(err as Error).message}`);
    }
    const parsed = savedObjectLine.safeParse(json);
    if (!parsed.success) throw new SlackAuditError('SLACK_AUDIT_KIBANA_IMPORT_FAILED', `saved objects line ${i + 1}: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
    out.push(parsed.data as unknown as SavedObject);
  });
  return out;
}

/** Data view title (comma-separated index patterns) for one namespace's indices, per names() in src/config/load.ts. */
export function namespacedDataViewTitle(key: keyof typeof DATA_VIEWS, namespace: string): string {
  switch (key) {
    case 'events':
      return `logs-slack.audit-${namespace}-*`;
    case 'alerts':
      return `slack-audit-alerts-${namespace},slack-audit-alerts-${namespace}-*`;
    case 'actions':
      return `slack-audit-actions-${namespace},slack-audit-actions-${namespace}-*`;
  }
}

/** Narrow the objects to one namespace: data view titles, object ids (so namespaces coexist in one Kibana) and titles. */
export function forNamespace(objects: SavedObject[], namespace: string): SavedObject[] {
  if (namespace === '*') return objects;
  const ids = new Set(objects.map((o) => o.id));
  const newId = (id: string) => (ids.has(id) ? `${id}-${namespace}` : id);
  const byId = new Map<string, keyof typeof DATA_VIEWS>(Object.entries(DATA_VIEWS).map(([k, v]) => [v.id, k as keyof typeof DATA_VIEWS]));
  return objects.map((o) => {
    const attributes = { ...o.attributes };
    const dvKey = o.type === 'index-pattern' ? byId.get(o.id) : undefined;
    if (dvKey) {
      attributes.title = namespacedDataViewTitle(dvKey, namespace);
      attributes.name = `${DATA_VIEWS[dvKey].name} (${namespace})`;
    } else if (typeof attributes.title === 'string') {
      attributes.title = `${attributes.title} (${namespace})`;
    }
    return { ...o, id: newId(o.id), attributes, references: o.references.map((r) => ({ ...r, id: newId(r.id) })) };
  });
}

const importResponse = z
  .object({
    success: z.boolean(),
    successCount: z.number().int(),
    errors: z
      .array(z.object({ id: z.string(), type: z.string(), title: z.string().optional(), error: z.object({ type: z.string() }).loose() }).loose())
      .optional(),
  })
  .loose();

function authHeader(auth: KibanaAuth | undefined): Record<string, string> {
  if (!auth) return {};
  if ('apiKey' in auth) {
    registerSecret(auth.apiKey);
    return { authorization: `ApiKey ${auth.apiKey}` };
  }
  registerSecret(auth.password);
  return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
}

export async function importKibanaObjects(kibanaUrl: string, opts: ImportOptions): Promise<{ imported: number }> {
  const raw = readFileSync(opts.file ?? KIBANA_NDJSON, 'utf8');
  const objects = forNamespace(parseSavedObjects(raw), opts.namespace);
  // `*` sends the committed file byte for byte (what a user importing by hand would send).
  const ndjson = opts.namespace === '*' ? raw : objects.map((o) => JSON.stringify(o)).join('\n') + '\n';
  const base = kibanaUrl.replace(/\/+$/, '');
  const space = opts.space && opts.space !== 'default' ? `/s/${encodeURIComponent(opts.space)}` : '';
  const url = `${base}${space}/api/saved_objects/_import?overwrite=true`;

  const form = new FormData();
  form.append('file', new Blob([ndjson], { type: 'application/ndjson' }), 'slack-audit.ndjson');

  let res;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'kbn-xsrf': 'slack-audit', accept: 'application/json', ...authHeader(opts.auth) },
      body: form,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    });
  } catch (err) {
    throw new SlackAuditError('SLACK_AUDIT_KIBANA_IMPORT_FAILED', `cannot reach Kibana at ${scrubString(base)}: ${scrubString((err as Error).message)}`, { retryable: true, cause: err });
  }
  const text = await res.text();
  if (!res.ok) {
    const hint = res.status === 401 || res.status === 403 ? ' (check the Kibana credentials and that the user may manage saved objects)' : '';
    throw new SlackAuditError('SLACK_AUDIT_KIBANA_IMPORT_FAILED', `Kibana import failed: HTTP ${res.status}${hint}: ${scrubString(text.slice(0, 500))}`, {
      retryable: res.status >= 500 || res.status === 429,
      details: { status: res.status },
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const body = importResponse.safeParse(json);
  if (!body.success) throw new SlackAuditError('SLACK_AUDIT_KIBANA_IMPORT_FAILED', `Kibana import answered an unexpected body: ${scrubString(text.slice(0, 300))}`);
  const errors = body.data.errors ?? [];
  if (!body.data.success || errors.length > 0) {
    const list = errors.map((e) => `${e.type}/${e.id}: ${e.error.type}`).join(', ');
    throw new SlackAuditError('SLACK_AUDIT_KIBANA_IMPORT_FAILED', `Kibana imported ${body.data.successCount}/${objects.length} objects; failed: ${list || 'unknown'}`, {
      details: { errors: errors.map((e) => ({ id: e.id, type: e.type, error: e.error.type })) },
    });
  }
  opts.log.info({ imported: body.data.successCount, namespace: opts.namespace, space: opts.space ?? 'default' }, 'Kibana saved objects imported');
  return { imported: body.data.successCount };
}
