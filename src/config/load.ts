import { readFileSync, existsSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { registerSecret } from '../observe/secrets.js';
import { configSchema, type Config } from './schema.js';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', ...(import.meta.url.includes('/dist/') ? ['..'] : []));
export const DEFAULT_CONFIG_FILE = resolve(PROJECT_ROOT, 'config', 'default.yaml');

export interface LoadOptions {
  /** Explicit file (from --config); falls back to SLACK_AUDIT_CONFIG, then config/default.yaml. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Extra values merged over file and env (used by `demo` and tests). */
  overrides?: Record<string, unknown>;
}

type Env = NodeJS.ProcessEnv;

/** The public env contract (README "Configuration"). Each maps onto one path of the config tree. */
export const ENV_VARS = [
  'SLACK_AUDIT_CONFIG',
  'SLACK_AUDIT_TOKEN',
  'SLACK_ADMIN_TOKEN',
  'SLACK_AUDIT_API_URL',
  'SLACK_API_URL',
  'REDIS_URL',
  'ELASTICSEARCH_URL',
  'ELASTICSEARCH_API_KEY',
  'ELASTICSEARCH_USERNAME',
  'ELASTICSEARCH_PASSWORD',
  'ELASTICSEARCH_CA_FILE',
  'SLACK_AUDIT_NAMESPACE',
  'SLACK_AUDIT_POLL_INTERVAL',
  'SLACK_AUDIT_LATENESS_SECONDS',
  'SLACK_AUDIT_LOOKBACK_HOURS',
  'SLACK_AUDIT_RESPONSES',
  'SLACK_AUDIT_PROTECTED_USERS',
  'SLACK_AUDIT_METRICS_PORT',
] as const;

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? env.SLACK_AUDIT_CONFIG ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  const raw = file === undefined ? {} : readYaml(file);
  const merged = deepMerge(applyEnv(raw, env), options.overrides ?? {});
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) throw zodToConfigError(parsed.error, file);
  const config = parsed.data;
  resolveSecrets(config, env);
  return config;
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`, ['<file>'], err);
  }
  try {
    const doc: unknown = parseYaml(text);
    if (doc === null || doc === undefined) return {};
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config file ${file} must hold a mapping at the top level`, ['<root>']);
    return doc as Record<string, unknown>;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const where = err instanceof YAMLParseError ? ` at line ${err.linePos?.[0].line ?? '?'}` : '';
    throw new ConfigError(`config file ${file} is not valid YAML${where}: ${(err as Error).message}`, ['<file>'], err);
  }
}

export function zodToConfigError(error: z.ZodError, file?: string): ConfigError {
  const paths = error.issues.map((i) => (i.path.length ? i.path.join('.') : '<root>'));
  const lines = error.issues.map((i) => `  - ${i.path.length ? i.path.join('.') : '<root>'}: ${i.message}`);
  return new ConfigError(`invalid configuration${file ? ` in ${file}` : ''}:\n${lines.join('\n')}`, paths, error);
}

function num(env: Env, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new ConfigError(`${name} must be a number, got "${v}"`, [name]);
  return n;
}

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** Env vars configure the single-org case and override the file. */
function applyEnv(raw: Record<string, unknown>, env: Env): Record<string, unknown> {
  const out = structuredClone(raw);
  const set = (path: string[], value: unknown) => {
    if (value === undefined) return;
    let node = out;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (next === undefined || next === null || typeof next !== 'object') node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = value;
  };
  set(['namespace'], str(env, 'SLACK_AUDIT_NAMESPACE'));
  set(['redis', 'url'], str(env, 'REDIS_URL'));
  set(['elasticsearch', 'url'], str(env, 'ELASTICSEARCH_URL'));
  set(['elasticsearch', 'apiKey'], str(env, 'ELASTICSEARCH_API_KEY'));
  set(['elasticsearch', 'username'], str(env, 'ELASTICSEARCH_USERNAME'));
  set(['elasticsearch', 'password'], str(env, 'ELASTICSEARCH_PASSWORD'));
  set(['elasticsearch', 'caFile'], str(env, 'ELASTICSEARCH_CA_FILE'));
  set(['slackAdmin', 'apiUrl'], str(env, 'SLACK_API_URL'));
  set(['responses', 'mode'], str(env, 'SLACK_AUDIT_RESPONSES'));
  const protectedUsers = str(env, 'SLACK_AUDIT_PROTECTED_USERS');
  if (protectedUsers !== undefined) {
    const fromFile = ((out.responses as Record<string, unknown> | undefined)?.protectedUsers as string[] | undefined) ?? [];
    const fromEnv = protectedUsers.split(',').map((s) => s.trim()).filter(Boolean);
    set(['responses', 'protectedUsers'], [...new Set([...fromFile, ...fromEnv])]);
  }
  set(['metrics', 'port'], num(env, 'SLACK_AUDIT_METRICS_PORT'));

  const sourceEnv: Record<string, unknown> = {};
  const assign = (key: string, value: unknown) => {
    if (value !== undefined) sourceEnv[key] = value;
  };
  assign('apiUrl', str(env, 'SLACK_AUDIT_API_URL'));
  assign('pollIntervalSeconds', num(env, 'SLACK_AUDIT_POLL_INTERVAL'));
  assign('latenessSeconds', num(env, 'SLACK_AUDIT_LATENESS_SECONDS'));
  assign('lookbackHours', num(env, 'SLACK_AUDIT_LOOKBACK_HOURS'));
  const sources = Array.isArray(out.sources) ? (out.sources as Record<string, unknown>[]) : [];
  if (sources.length === 0 && (str(env, 'SLACK_AUDIT_TOKEN') !== undefined || Object.keys(sourceEnv).length > 0)) {
    sources.push({ id: 'default' });
  }
  // The single-org env vars apply to the first source (the single-org case).
  if (sources.length > 0 && Object.keys(sourceEnv).length > 0) sources[0] = { ...sources[0], ...sourceEnv };
  if (sources.length > 0) out.sources = sources;
  return out;
}

function readSecretFile(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`${key}: cannot read secret file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, [key], err);
  }
}

function resolveSecrets(config: Config, env: Env): void {
  config.sources.forEach((source, i) => {
    let token = source.token;
    if (source.tokenFile) token = readSecretFile(source.tokenFile, `sources.${i}.tokenFile`);
    if (source.tokenEnv) token = str(env, source.tokenEnv) ?? token;
    if (i === 0) token = str(env, 'SLACK_AUDIT_TOKEN') ?? token;
    if (token !== undefined) source.token = token;
    registerSecret(token);
  });
  const admin = config.slackAdmin;
  let adminToken = admin.token;
  if (admin.tokenFile) adminToken = readSecretFile(admin.tokenFile, 'slackAdmin.tokenFile');
  if (admin.tokenEnv) adminToken = str(env, admin.tokenEnv) ?? adminToken;
  adminToken = str(env, 'SLACK_ADMIN_TOKEN') ?? adminToken;
  if (adminToken !== undefined) admin.token = adminToken;
  registerSecret(adminToken);
  registerSecret(config.elasticsearch.apiKey);
  registerSecret(config.elasticsearch.password);
  const ids = new Set<string>();
  config.sources.forEach((s, i) => {
    if (ids.has(s.id)) throw new ConfigError(`sources.${i}.id: duplicate source id "${s.id}"`, [`sources.${i}.id`]);
    ids.add(s.id);
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const cur = out[k];
    out[k] = isPlainObject(cur) && isPlainObject(v) ? deepMerge(cur, v) : v;
  }
  return out;
}

/** Index and key names derived from the config: the public naming contract in one place. */
export function names(config: Pick<Config, 'namespace' | 'redis'>) {
  const ns = config.namespace;
  return {
    eventsAlias: `logs-slack.audit-${ns}`,
    eventsIndexPrefix: `logs-slack.audit-${ns}-`,
    eventsPattern: `logs-slack.audit-${ns}-*`,
    alertsIndex: `slack-audit-alerts-${ns}`,
    actionsIndex: `slack-audit-actions-${ns}`,
    dlqIndex: `slack-audit-dlq-${ns}`,
    redisPrefix: `${config.redis.prefix}:${ns}`,
  };
}
