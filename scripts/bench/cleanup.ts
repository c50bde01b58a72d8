/** Removal of everything a bench run created: only its own Redis keys and its own indices/templates. */
import type { Client } from '@elastic/elasticsearch';
import type { Redis } from 'ioredis';
import { deleteKeysMatching } from '../../src/queue/connection.js';

/** Delete our keys: `<prefix>:*` (rule state, collector state) and `<prefix>-bull:*` (BullMQ, see bullPrefix()). */
export async function cleanupRedis(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  for (const pattern of [`${prefix}:*`, `${prefix}-bull:*`]) deleted += await deleteKeysMatching(redis, pattern);
  return deleted;
}

/** Delete the indices (and index templates) of one namespace. */
export async function cleanupEs(es: Client, namespace: string): Promise<void> {
  await es.indices.delete({ index: `logs-slack.audit-${namespace}-*,slack-audit-*-${namespace}`, ignore_unavailable: true, allow_no_indices: true, expand_wildcards: 'all' });
  const templates = await es.indices.getIndexTemplate({ name: `*${namespace}*` }).catch(() => ({ index_templates: [] }));
  for (const t of templates.index_templates) await es.indices.deleteIndexTemplate({ name: t.name });
  const components = await es.cluster.getComponentTemplate({ name: `*${namespace}*` }).catch(() => ({ component_templates: [] }));
  for (const c of components.component_templates) await es.cluster.deleteComponentTemplate({ name: c.name });
}
