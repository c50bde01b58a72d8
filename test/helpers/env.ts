import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ELASTICSEARCH_URL = process.env.ELASTICSEARCH_URL ?? 'http://127.0.0.1:9200';

/**
 * Tests share one Redis and one ES. Each test gets its own namespace (index names) and Redis prefix, so
 * files can run in parallel and nothing needs a FLUSHALL.
 */
export function uniqueNamespace(label = 't'): string {
  return `${label.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
}

export function testConfig(overrides: Record<string, unknown> = {}, label = 't'): Config {
  const ns = uniqueNamespace(label);
  return loadConfig({
    file: '/dev/null',
    env: { REDIS_URL, ELASTICSEARCH_URL, ...pickSecurityEnv() },
    overrides: { namespace: ns, redis: { prefix: `sa-test-${ns}` }, logLevel: 'silent', ...overrides },
  });
}

/** The ES credential env vars of this run (the secured-ES pass sets them), for spawned CLIs. */
export function pickSecurityEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['ELASTICSEARCH_API_KEY', 'ELASTICSEARCH_USERNAME', 'ELASTICSEARCH_PASSWORD', 'ELASTICSEARCH_CA_FILE']) {
    const v = process.env[k];
    if (v) out[k] = v;
  }
  return out;
}
