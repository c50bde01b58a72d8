import { readFileSync } from 'node:fs';
import { Client, type ClientOptions } from '@elastic/elasticsearch';
import type { Config } from '../config/schema.js';

/** One Elasticsearch client per process, built from config (URL, API key or basic auth, CA file). */
export function createEsClient(config: Pick<Config, 'elasticsearch'>, overrides: Partial<ClientOptions> = {}): Client {
  const es = config.elasticsearch;
  const options: ClientOptions = {
    node: es.url,
    requestTimeout: es.requestTimeoutMs,
    maxRetries: 3,
    compression: false,
    ...(es.apiKey ? { auth: { apiKey: es.apiKey } } : es.username && es.password ? { auth: { username: es.username, password: es.password } } : {}),
    ...(es.caFile ? { tls: { ca: readFileSync(es.caFile, 'utf8'), rejectUnauthorized: true } } : {}),
    ...overrides,
  };
  return new Client(options);
}
