import type { Client } from '@elastic/elasticsearch';
import { SlackAuditError, errorMessage } from '../errors.js';
import { scrubString } from '../observe/secrets.js';

/**
 * Read-merge-write with optimistic concurrency (`if_seq_no` / `if_primary_term`), for documents several
 * workers may update at once (alerts, their action summaries). The slim Elasticsearch build we test on has no
 * scripting module (no painless), so merges happen here: read the current versions with one `mget`, merge in
 * Node, write with one `bulk` guarded by the versions read, and redo only the items that lost a race (409).
 */
export type Merge<T> = (id: string, current: T | undefined) => T | null; // null = nothing to change

export interface UpsertResult<T> {
  id: string;
  result: 'created' | 'updated' | 'noop';
  doc: T | undefined;
}

const MAX_ROUNDS = 8;

export async function occUpsert<T extends object>(es: Client, index: string, ids: readonly string[], merge: Merge<T>, refresh: boolean | 'wait_for' = false): Promise<Map<string, UpsertResult<T>>> {
  const results = new Map<string, UpsertResult<T>>();
  let pending = [...new Set(ids)];
  for (let round = 0; pending.length > 0; round++) {
    if (round >= MAX_ROUNDS) throw new SlackAuditError('SLACK_AUDIT_ES_ITEM_REJECTED', `gave up after ${MAX_ROUNDS} concurrent-update conflicts on ${index}`, { retryable: true, details: { ids: pending.slice(0, 10) } });
    let got;
    try {
      got = await es.mget<T>({ index, ids: pending });
    } catch (err) {
      if ((err as { meta?: { statusCode?: number } }).meta?.statusCode === 404) got = { docs: [] };
      else throw unavailable(err);
    }
    const current = new Map<string, { source: T; seqNo: number; primaryTerm: number }>();
    for (const d of got.docs) {
      if ('found' in d && d.found && d._source !== undefined && d._seq_no !== undefined && d._primary_term !== undefined) {
        current.set(d._id, { source: d._source, seqNo: d._seq_no, primaryTerm: d._primary_term });
      }
    }
    const operations: unknown[] = [];
    const order: { id: string; created: boolean; doc: T }[] = [];
    for (const id of pending) {
      const cur = current.get(id);
      const next = merge(id, cur === undefined ? undefined : structuredClone(cur.source));
      if (next === null) {
        results.set(id, { id, result: 'noop', doc: cur?.source });
        continue;
      }
      operations.push(cur === undefined ? { create: { _index: index, _id: id } } : { index: { _index: index, _id: id, if_seq_no: cur.seqNo, if_primary_term: cur.primaryTerm } });
      operations.push(next);
      order.push({ id, created: cur === undefined, doc: next });
    }
    if (operations.length === 0) break;
    let res;
    try {
      res = await es.bulk({ operations, refresh });
    } catch (err) {
      throw unavailable(err);
    }
    const retry: string[] = [];
    res.items.forEach((item, i) => {
      const op = item.create ?? item.index;
      const o = order[i];
      if (!o || !op) return;
      if (op.status === 409) {
        retry.push(o.id);
        return;
      }
      if (op.error) {
        throw new SlackAuditError('SLACK_AUDIT_ES_ITEM_REJECTED', `${index}/${o.id} rejected: ${scrubString(op.error.reason ?? op.error.type)}`, {
          retryable: op.status >= 429,
          details: { status: op.status, type: op.error.type },
        });
      }
      results.set(o.id, { id: o.id, result: o.created ? 'created' : 'updated', doc: o.doc });
    });
    pending = retry;
  }
  return results;
}

function unavailable(err: unknown): SlackAuditError {
  return new SlackAuditError('SLACK_AUDIT_ES_UNAVAILABLE', `Elasticsearch write failed: ${scrubString(errorMessage(err))}`, { retryable: true, cause: err });
}
