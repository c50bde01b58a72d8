/**
 * `slack-audit status [--json]`: one look at the whole pipeline, fit for a cron job or a probe.
 *
 * Exit codes: 0 healthy; 2 something needs attention (any `attention` item of severity `error`):
 *   - Elasticsearch unreachable or red, or Redis unreachable;
 *   - an enabled source has a fatal error (it stopped polling until an operator acts);
 *   - an enabled source has no collection state at all (never ran), or its watermark is older than
 *     3 × pollIntervalSeconds + latenessSeconds + settleSeconds (the collector is stuck or down);
 *   - a queue holds failed jobs;
 *   - the dead-letter index is not empty.
 * Warnings (reported, exit 0): a source's last poll failed (it retries), Redis not on `noeviction`.
 * 78 is a bad config (from cli.ts), 1 an unexpected crash.
 *
 * `lagSeconds` is now − date_create of the newest event seen. It is informational: a quiet org has old
 * newest events while the collector is perfectly healthy, so staleness is judged on the watermark instead.
 */
import type { Command } from 'commander';
import { Queue } from 'bullmq';
import type { Client } from '@elastic/elasticsearch';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { names } from '../config/load.js';
import type { Config, SourceConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { queueStats } from '../observe/queue-stats.js';
import { scrubString } from '../observe/secrets.js';
import { QUEUES } from '../queue/jobs.js';
import { createEsClient } from '../sink/es-client.js';
import { readCoverage, readSourceState as readCollectorState, type Coverage } from '../collect/coverage.js';
import { collectKeys } from '../collect/keys.js';
import type { StoredProblem } from '../collect/source-store.js';
import { bullPrefix, createRedis } from '../queue/connection.js';
import { loadFromCommand } from './common.js';

const instant = z.object({ unix: z.number(), iso: z.iso.datetime() });
const problem = z.object({ code: z.string().nullable(), message: z.string(), at: z.iso.datetime().nullable() });
const counts = z.record(z.string(), z.number().int().min(0));

const sourceStatusSchema = z.object({
  id: z.string(),
  enabled: z.boolean(),
  /** Highest `date_create` second the collector has fully read (Unix seconds and ISO). */
  watermark: instant.nullable(),
  /** Earliest second the collector has read from (start of coverage). */
  collectedFrom: instant.nullable(),
  newestEventAt: instant.nullable(),
  /** now − newestEventAt, seconds (informational). */
  lagSeconds: z.number().nullable(),
  /** now − watermark, seconds: what `staleAfterSeconds` is compared with. */
  watermarkAgeSeconds: z.number().nullable(),
  staleAfterSeconds: z.number(),
  lastSuccessAt: z.iso.datetime().nullable(),
  lastError: problem.nullable(),
  fatal: problem.nullable(),
  /** Audit Logs requests in the last minute vs the configured budget; null when the collector keeps no count. */
  rateBudget: z.object({ usedLastMinute: z.number().int().min(0), perMinute: z.number().int() }).nullable(),
  /** A 429 Retry-After pause shared by every replica: no Slack request before this. */
  pausedUntil: z.iso.datetime().nullable(),
  /**
   * What the collector can vouch for (src/collect/coverage.ts readCoverage): `from`..`to` (the watermark), the
   * uncollected `gaps` inside it (Unix s, inclusive), and ingest jobs not yet indexed (entries up to `to` are only
   * guaranteed in Elasticsearch once this is 0).
   */
  coverage: z
    .object({ from: z.iso.datetime(), to: z.iso.datetime(), seconds: z.number(), gaps: z.array(z.tuple([z.number(), z.number()])), pendingIngestJobs: z.number().int() })
    .nullable(),
});

const queueCountsSchema = z.object({ waiting: z.number().int(), active: z.number().int(), failed: z.number().int(), delayed: z.number().int() });

/** The documented `status --json` shape (v1). Additive changes only; a breaking change bumps `v`. */
export const statusSchema = z.object({
  v: z.literal(1),
  generatedAt: z.iso.datetime(),
  namespace: z.string(),
  healthy: z.boolean(),
  /** 0 healthy, 2 attention needed. */
  exitCode: z.union([z.literal(0), z.literal(2)]),
  attention: z.array(z.object({ severity: z.enum(['error', 'warning']), check: z.string(), message: z.string() })),
  sources: z.array(sourceStatusSchema),
  /** Per queue name (QUEUES); null when Redis is unreachable. */
  queues: z.record(z.string(), queueCountsSchema).nullable(),
  dlq: z.object({ index: z.string(), count: z.number().int().nullable() }),
  alerts: z.object({ index: z.string(), last24h: z.number().int().nullable(), byRule: counts, bySeverity: counts }),
  responses: z.object({ index: z.string(), last24h: z.number().int().nullable(), byOutcome: counts }),
  elasticsearch: z.object({ ok: z.boolean(), status: z.enum(['green', 'yellow', 'red']).nullable(), error: z.string().optional() }),
  redis: z.object({ ok: z.boolean(), maxmemoryPolicy: z.string().nullable(), aofEnabled: z.boolean().nullable(), error: z.string().optional() }),
});
export type Status = z.infer<typeof statusSchema>;
export type SourceStatus = z.infer<typeof sourceStatusSchema>;
type Problem = z.infer<typeof problem>;

// ---- reading the collector's per-source state ----

/** Unix seconds or ms (or an ISO string) → ISO; null when unreadable. */
function toIso(v: unknown): string | null {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return new Date(v > 1e11 ? v : v * 1000).toISOString();
  if (typeof v === 'string' && v !== '') {
    const n = Number(v);
    if (Number.isFinite(n)) return toIso(n);
    const d = Date.parse(v);
    return Number.isNaN(d) ? null : new Date(d).toISOString();
  }
  return null;
}

const instantOf = (s: number | null) => (s === null ? null : { unix: s, iso: new Date(s * 1000).toISOString() });

const storedProblem = z.object({ code: z.unknown().optional(), message: z.unknown().optional(), at: z.unknown().optional() }).loose();

function parseProblem(raw: string | undefined): Problem | null {
  if (raw === undefined || raw === '' || raw === 'null') return null;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { code: null, message: scrubString(raw), at: null };
  }
  const p = storedProblem.safeParse(json);
  if (!p.success) return { code: null, message: scrubString(raw), at: null };
  const { code, message, at } = p.data;
  return {
    code: typeof code === 'string' ? code : null,
    message: scrubString(typeof message === 'string' ? message : JSON.stringify(json)),
    at: toIso(at),
  };
}

export interface SourceState {
  watermark: number | null;
  collectedFrom: number | null;
  lastSuccessAt: string | null;
  lastError: Problem | null;
  fatal: Problem | null;
  newestEventAt: number | null;
  pausedUntil: string | null;
  rateBudgetUsed: number | null;
  coverage: Coverage | null;
}

const fromStored = (p: StoredProblem | null): Problem | null => (p === null ? null : { code: p.code, message: scrubString(p.message), at: toIso(p.at) });

/**
 * The collector's state for one source, through its own readers (src/collect/coverage.ts). `fatal` and
 * `lastError` are re-read raw when the collector's strict parser gives up on them: a fatal source must never
 * look healthy because its record has an unexpected shape.
 */
export async function readSourceState(config: Config, redis: Redis, sourceId: string): Promise<SourceState> {
  const ingest = new Queue(QUEUES.ingest, { connection: redis, prefix: bullPrefix(config), skipMetasUpdate: true });
  try {
    const [state, coverage, raw] = await Promise.all([
      readCollectorState(redis, config, sourceId),
      readCoverage(redis, config, sourceId, ingest),
      redis.hmget(collectKeys(config, sourceId).source, 'fatal', 'lastError'),
    ]);
    return {
      watermark: state.watermark,
      collectedFrom: state.collectedFrom,
      lastSuccessAt: toIso(state.lastSuccessAt),
      lastError: fromStored(state.lastError) ?? parseProblem(raw[1] ?? undefined),
      fatal: fromStored(state.fatal) ?? parseProblem(raw[0] ?? undefined),
      newestEventAt: state.newestEventAt,
      pausedUntil: state.pausedUntil !== null && state.pausedUntil > Date.now() ? toIso(state.pausedUntil) : null,
      rateBudgetUsed: state.rateBudgetUsed,
      coverage,
    };
  } finally {
    await ingest.close();
  }
}

export function staleAfterSeconds(source: Pick<SourceConfig, 'pollIntervalSeconds' | 'latenessSeconds' | 'settleSeconds'>): number {
  return 3 * source.pollIntervalSeconds + source.latenessSeconds + source.settleSeconds;
}

export function sourceStatus(source: SourceConfig, state: SourceState | null, nowMs: number): SourceStatus {
  const now = Math.floor(nowMs / 1000);
  const wm = state?.watermark ?? null;
  const cov = state?.coverage ?? null;
  const iso = (sec: number) => new Date(sec * 1000).toISOString();
  return {
    id: source.id,
    enabled: source.enabled,
    watermark: instantOf(wm),
    collectedFrom: instantOf(state?.collectedFrom ?? null),
    newestEventAt: instantOf(state?.newestEventAt ?? null),
    lagSeconds: state?.newestEventAt == null ? null : Math.max(0, now - state.newestEventAt),
    watermarkAgeSeconds: wm === null ? null : Math.max(0, now - wm),
    staleAfterSeconds: staleAfterSeconds(source),
    lastSuccessAt: state?.lastSuccessAt ?? null,
    lastError: state?.lastError ?? null,
    fatal: state?.fatal ?? null,
    rateBudget: state?.rateBudgetUsed == null ? null : { usedLastMinute: state.rateBudgetUsed, perMinute: source.rateBudgetPerMinute },
    pausedUntil: state?.pausedUntil ?? null,
    coverage:
      cov && cov.from !== null && cov.to !== null && cov.to >= cov.from
        ? { from: iso(cov.from), to: iso(cov.to), seconds: cov.to - cov.from, gaps: cov.gaps, pendingIngestJobs: cov.pendingIngestJobs }
        : null,
  };
}

type StatusBody = Omit<Status, 'healthy' | 'exitCode' | 'attention'>;

/** The exit-code rules (see the file comment), as data: pure, unit-testable. */
export function attentionItems(s: StatusBody): Status['attention'] {
  const out: Status['attention'] = [];
  const err = (check: string, message: string) => out.push({ severity: 'error', check, message });
  const warn = (check: string, message: string) => out.push({ severity: 'warning', check, message });
  if (!s.elasticsearch.ok) err('elasticsearch', `Elasticsearch unreachable: ${s.elasticsearch.error ?? 'unknown error'}`);
  else if (s.elasticsearch.status === 'red') err('elasticsearch', 'Elasticsearch cluster health is red');
  if (!s.redis.ok) err('redis', `Redis unreachable: ${s.redis.error ?? 'unknown error'}`);
  else if (s.redis.maxmemoryPolicy !== null && s.redis.maxmemoryPolicy !== 'noeviction')
    warn('redis', `Redis maxmemory-policy is ${s.redis.maxmemoryPolicy}; BullMQ needs noeviction or queued jobs can be evicted`);
  for (const src of s.sources) {
    if (!src.enabled) continue;
    if (src.fatal) err(`source:${src.id}`, `source ${src.id} stopped on a fatal error: ${src.fatal.code ?? ''} ${src.fatal.message}`.replace(/\s+/g, ' '));
    if (s.redis.ok && src.watermark === null) err(`source:${src.id}`, `source ${src.id} has no collection state yet (is the scheduler running?)`);
    else if (src.watermarkAgeSeconds !== null && src.watermarkAgeSeconds > src.staleAfterSeconds)
      err(`source:${src.id}`, `source ${src.id} is behind: watermark is ${src.watermarkAgeSeconds}s old (limit ${src.staleAfterSeconds}s)`);
    if (src.coverage && src.coverage.gaps.length > 0)
      warn(`source:${src.id}`, `source ${src.id} has ${src.coverage.gaps.length} uncollected gap(s) in its coverage: run \`slack-audit backfill\` over them`);
    if (src.lastError && !src.fatal) warn(`source:${src.id}`, `source ${src.id} last error: ${src.lastError.code ?? ''} ${src.lastError.message}`.replace(/\s+/g, ' '));
  }
  for (const [name, q] of Object.entries(s.queues ?? {})) {
    if (q.failed > 0) err(`queue:${name}`, `queue ${name} has ${q.failed} failed job(s)`);
  }
  if (s.dlq.count !== null && s.dlq.count > 0) err('dlq', `dead-letter index ${s.dlq.index} holds ${s.dlq.count} document(s): see \`slack-audit dlq\``);
  return out;
}

export function finishStatus(body: StatusBody): Status {
  const attention = attentionItems(body);
  const healthy = !attention.some((a) => a.severity === 'error');
  const { v, generatedAt, namespace, ...rest } = body;
  // Verdict first: it is what a reader (or a probe) looks at.
  return { v, generatedAt, namespace, healthy, exitCode: healthy ? 0 : 2, attention, ...rest };
}

// ---- Elasticsearch reads (missing indices are zero, not errors) ----

async function countSince(
  es: Client,
  index: string,
  aggFields: Record<string, string>,
): Promise<{ total: number; buckets: Record<string, Record<string, number>> }> {
  const query = { range: { '@timestamp': { gte: 'now-24h' } } };
  const scope = { index, ignore_unavailable: true, allow_no_indices: true, query };
  const total = (await es.count(scope)).count;
  const bucketSchema = z.object({ buckets: z.array(z.object({ key: z.union([z.string(), z.number()]), doc_count: z.number() })) });
  // One request per field: a field mapped as text (or absent from an older template) cannot be aggregated,
  // and that must cost its own breakdown only, not the others or the count.
  const entries = await Promise.all(
    Object.entries(aggFields).map(async ([name, field]): Promise<[string, Record<string, number>]> => {
      try {
        const res = await es.search({ ...scope, size: 0, aggs: { by: { terms: { field, size: 50 } } } });
        const parsed = bucketSchema.safeParse((res.aggregations as Record<string, unknown> | undefined)?.by);
        return [name, parsed.success ? Object.fromEntries(parsed.data.buckets.map((b) => [String(b.key), b.doc_count])) : {}];
      } catch {
        return [name, {}];
      }
    }),
  );
  return { total, buckets: Object.fromEntries(entries) };
}

export interface CollectStatusOptions {
  config: Config;
  /** Injected clients (tests); otherwise created and closed here. */
  redis?: Redis;
  es?: Client;
  now?: () => number;
  timeoutMs?: number;
}

export async function collectStatus(opts: CollectStatusOptions): Promise<Status> {
  const { config } = opts;
  const n = names(config);
  const nowMs = (opts.now ?? Date.now)();
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const ownRedis = opts.redis === undefined;
  const ownEs = opts.es === undefined;
  const redis =
    opts.redis ??
    createRedis(config, 'command', { lazyConnect: true, connectTimeout: timeoutMs, retryStrategy: () => null, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  const es = opts.es ?? createEsClient(config, { requestTimeout: timeoutMs, maxRetries: 0 });
  redis.on('error', () => undefined);

  try {
    let redisHealth: Status['redis'];
    try {
      if (redis.status === 'wait') await redis.connect();
      await redis.ping();
      const info = await redis.info();
      const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1] ?? null;
      const aof = /^aof_enabled:(\d)/m.exec(info)?.[1];
      redisHealth = { ok: true, maxmemoryPolicy: policy, aofEnabled: aof === undefined ? null : aof === '1' };
    } catch (e) {
      redisHealth = { ok: false, maxmemoryPolicy: null, aofEnabled: null, error: scrubString(errorMessage(e)) };
    }

    let esHealth: Status['elasticsearch'];
    try {
      const h = await es.cluster.health();
      esHealth = { ok: true, status: h.status === 'green' || h.status === 'yellow' || h.status === 'red' ? h.status : null };
    } catch (e) {
      esHealth = { ok: false, status: null, error: scrubString(errorMessage(e)) };
    }

    const sources = await Promise.all(
      config.sources.map(async (s) => {
        const state = redisHealth.ok ? await readSourceState(config, redis, s.id) : null;
        return sourceStatus(s, state, nowMs);
      }),
    );

    let queues: Status['queues'] = null;
    if (redisHealth.ok) {
      const stats = await queueStats(config, redis);
      queues = Object.fromEntries(
        Object.values(QUEUES).map((q) => {
          const { waiting, active, failed, delayed } = stats[q];
          return [q, { waiting, active, failed, delayed }];
        }),
      );
    }

    let dlqCount: number | null = null;
    let alerts: Status['alerts'] = { index: n.alertsIndex, last24h: null, byRule: {}, bySeverity: {} };
    let responses: Status['responses'] = { index: n.actionsIndex, last24h: null, byOutcome: {} };
    if (esHealth.ok) {
      dlqCount = (await es.count({ index: n.dlqIndex, ignore_unavailable: true, allow_no_indices: true })).count;
      const a = await countSince(es, n.alertsIndex, { byRule: 'rule.name', bySeverity: 'event.severity' });
      alerts = { index: n.alertsIndex, last24h: a.total, byRule: a.buckets.byRule ?? {}, bySeverity: a.buckets.bySeverity ?? {} };
      const r = await countSince(es, n.actionsIndex, { byOutcome: 'slack.response.outcome' });
      responses = { index: n.actionsIndex, last24h: r.total, byOutcome: r.buckets.byOutcome ?? {} };
    }

    return finishStatus({
      v: 1,
      generatedAt: new Date(nowMs).toISOString(),
      namespace: config.namespace,
      sources,
      queues,
      dlq: { index: n.dlqIndex, count: dlqCount },
      alerts,
      responses,
      elasticsearch: esHealth,
      redis: redisHealth,
    });
  } finally {
    if (ownRedis) redis.disconnect();
    if (ownEs) await es.close();
  }
}

// ---- human output ----

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

function ago(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86400)}d`;
}

const fmtCounts = (c: Record<string, number>) => {
  const parts = Object.entries(c).map(([k, v]) => `${k} ${v}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
};

export function renderStatus(s: Status): string {
  const lines: string[] = [];
  lines.push(`slack-audit status  namespace=${s.namespace}  ${s.generatedAt}  ${s.healthy ? 'HEALTHY' : 'NEEDS ATTENTION'}`, '');
  const nowS = Math.floor(Date.parse(s.generatedAt) / 1000);
  const srcRows = [['SOURCE', 'WATERMARK', 'WM AGE', 'LAG', 'LAST SUCCESS', 'RATE/MIN', 'STATE']];
  for (const src of s.sources) {
    const lastOk = src.lastSuccessAt === null ? '-' : `${ago(Math.max(0, nowS - Math.floor(Date.parse(src.lastSuccessAt) / 1000)))} ago`;
    const state = !src.enabled
      ? 'disabled'
      : src.fatal
        ? `FATAL ${src.fatal.code ?? src.fatal.message}`
        : src.pausedUntil
          ? `paused until ${src.pausedUntil} (429)`
          : src.lastError
            ? `error ${src.lastError.code ?? src.lastError.message}`
            : 'ok';
    srcRows.push([
      src.id,
      src.watermark ? `${src.watermark.iso} (${src.watermark.unix})` : '-',
      ago(src.watermarkAgeSeconds),
      ago(src.lagSeconds),
      lastOk,
      src.rateBudget ? `${src.rateBudget.usedLastMinute}/${src.rateBudget.perMinute}` : '-',
      state,
    ]);
  }
  lines.push(s.sources.length ? table(srcRows) : 'no sources configured (set SLACK_AUDIT_TOKEN or sources: in the config file)', '');
  if (s.queues) {
    const qRows = [['QUEUE', 'WAITING', 'ACTIVE', 'FAILED', 'DELAYED']];
    for (const [name, q] of Object.entries(s.queues)) qRows.push([name, String(q.waiting), String(q.active), String(q.failed), String(q.delayed)]);
    lines.push(table(qRows), '');
  } else lines.push('queues: unknown (Redis unreachable)', '');
  const num = (v: number | null) => (v === null ? '?' : String(v));
  lines.push(`DLQ: ${num(s.dlq.count)}   alerts 24h: ${num(s.alerts.last24h)}${fmtCounts(s.alerts.byRule)}   responses 24h: ${num(s.responses.last24h)}${fmtCounts(s.responses.byOutcome)}`);
  const redisExtra = s.redis.ok ? ` (maxmemory-policy ${s.redis.maxmemoryPolicy ?? '?'}, aof ${s.redis.aofEnabled === null ? '?' : s.redis.aofEnabled ? 'on' : 'off'})` : ` DOWN: ${s.redis.error ?? ''}`;
  const esExtra = s.elasticsearch.ok ? ` (${s.elasticsearch.status ?? '?'})` : ` DOWN: ${s.elasticsearch.error ?? ''}`;
  lines.push(`Elasticsearch: ${s.elasticsearch.ok ? 'ok' : 'FAIL'}${esExtra}   Redis: ${s.redis.ok ? 'ok' : 'FAIL'}${redisExtra}`);
  if (s.attention.length) {
    lines.push('', 'Attention:');
    for (const a of s.attention) lines.push(`  ${a.severity === 'error' ? 'ERROR' : 'warn '} ${a.message}`);
  }
  return lines.join('\n') + '\n';
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('per-source watermark, lag, errors, rate budget; queue depths; DLQ; ES and Redis health (exit 2 = needs attention)')
    .option('--json', 'machine-readable output (schema: statusSchema in src/commands/status.ts)')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { config } = loadFromCommand(cmd);
      const status = await collectStatus({ config });
      process.stdout.write(opts.json ? JSON.stringify(status, null, 2) + '\n' : renderStatus(status));
      process.exitCode = status.exitCode;
    });
}
