import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/queue/connection.js';
import { createEsClient } from '../../src/sink/es-client.js';
import { testConfig } from '../helpers/env.js';

const config = testConfig({}, 'services');
const redis = createRedis(config, 'command');
const es = createEsClient(config);

afterAll(async () => {
  await es.indices.delete({ index: `smoke-${config.namespace}`, ignore_unavailable: true });
  await redis.del(`${config.redis.prefix}:smoke`);
  redis.disconnect();
  await es.close();
});

describe('real services', () => {
  it('writes to and reads from Redis with AOF and noeviction', async () => {
    await redis.set(`${config.redis.prefix}:smoke`, 'hello');
    expect(await redis.get(`${config.redis.prefix}:smoke`)).toBe('hello');
    const policy = (await redis.config('GET', 'maxmemory-policy')) as string[];
    expect(policy[1]).toBe('noeviction');
  });

  it('writes to and reads from Elasticsearch 8.x', async () => {
    const index = `smoke-${config.namespace}`;
    await es.index({ index, id: 'a', document: { msg: 'hello', '@timestamp': new Date().toISOString() }, refresh: 'wait_for' });
    const doc = await es.get<{ msg: string }>({ index, id: 'a' });
    expect(doc._source?.msg).toBe('hello');
    const nodes = await es.nodes.info({ filter_path: 'nodes.*.version' });
    const versions = Object.values(nodes.nodes).map((n) => n.version);
    expect(versions[0]).toMatch(/^8\./);
  });
});
