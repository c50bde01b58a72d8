import { z } from 'zod';

/**
 * The whole config tree. YAML keys are camelCase and match these names; every field has a default so that
 * an empty file (or none) plus SLACK_AUDIT_TOKEN is a working single-org setup. Secrets are never read from
 * the YAML itself: use `tokenEnv`/`tokenFile` (or the public env vars, which override the file).
 */
const secretRef = {
  /** Name of an env var holding the secret. */
  tokenEnv: z.string().min(1).optional(),
  /** Path of a file holding the secret (e.g. a mounted Kubernetes/Docker secret). */
  tokenFile: z.string().min(1).optional(),
};

export const sourceSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'source id: lowercase letters, digits, - and _'),
    /** Resolved at load time from tokenEnv/tokenFile/SLACK_AUDIT_TOKEN; never written in YAML. */
    token: z.string().optional(),
    ...secretRef,
    apiUrl: z.url().default('https://api.slack.com/audit/v1'),
    pollIntervalSeconds: z.number().int().min(1).max(3600).default(60),
    latenessSeconds: z.number().int().min(0).max(7 * 86400).default(300),
    lookbackHours: z.number().min(0).max(24 * 365 * 10).default(168),
    /** Seconds kept off the top of every window so the current second is never half-read. */
    settleSeconds: z.number().int().min(0).max(600).default(5),
    /** `limit` sent to /logs; Slack's max is 9999 and a page may exceed it for same-second events. */
    pageLimit: z.number().int().min(1).max(9999).default(1000),
    /** Requests per minute this pipeline may spend on the org-wide Audit Logs budget (Slack allows ~50/min for all apps). */
    rateBudgetPerMinute: z.number().int().min(1).max(50).default(20),
    /** Longest window one poll run reads; longer gaps are caught up in several windows. */
    maxWindowSeconds: z.number().int().min(60).default(86400),
    rescan: z
      .object({
        enabled: z.boolean().default(true),
        everyMinutes: z.number().min(1).default(60),
        lookbackHours: z.number().min(0).default(24),
      })
      .prefault({}),
    /** Earliest second to ever request (Slack has no data before March 2018). */
    earliest: z.iso.datetime({ offset: true }).default('2018-03-01T00:00:00Z'),
    enabled: z.boolean().default(true),
  })
  .strict();

export const configSchema = z
  .object({
    namespace: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_]{0,99}$/, 'namespace: lowercase letters, digits and _ (Elastic data stream naming)')
      .default('default'),
    sources: z.array(sourceSchema).default([]),
    redis: z
      .object({
        url: z.string().default('redis://127.0.0.1:6379'),
        prefix: z.string().regex(/^[A-Za-z0-9_.:-]+$/).default('slack-audit'),
      })
      .strict()
      .prefault({}),
    elasticsearch: z
      .object({
        url: z.string().default('http://127.0.0.1:9200'),
        apiKey: z.string().optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        caFile: z.string().optional(),
        /** Events go to one index per month of the event's own date_create: `logs-slack.audit-<ns>-YYYY.MM`. */
        retentionMonths: z.number().int().min(0).default(0),
        keepOriginal: z.boolean().default(true),
        shards: z.number().int().min(1).default(1),
        replicas: z.number().int().min(0).default(0),
        bulk: z
          .object({
            maxDocs: z.number().int().min(1).default(2000),
            maxBytes: z.number().int().min(1024).default(5 * 1024 * 1024),
            concurrency: z.number().int().min(1).max(32).default(2),
          })
          .strict()
          .prefault({}),
        requestTimeoutMs: z.number().int().min(1000).default(30_000),
      })
      .strict()
      .prefault({}),
    collector: z
      .object({
        /** Scheduler pauses fetching while this many ingest jobs wait (backpressure). */
        maxQueuedJobs: z.number().int().min(1).default(200),
        /** Entries per ingest job; pages are chunked to this size. */
        jobMaxEntries: z.number().int().min(1).max(10000).default(1000),
        /** Bytes of serialized entries per ingest job. */
        jobMaxBytes: z.number().int().min(16 * 1024).default(4 * 1024 * 1024),
        httpTimeoutMs: z.number().int().min(100).default(30_000),
        indexerConcurrency: z.number().int().min(1).max(64).default(4),
        /** Ingest job attempts; with the exponential backoff below a job survives an ES outage of many hours. */
        ingestAttempts: z.number().int().min(1).default(50),
        /** First retry delay of an ingest job (BullMQ exponential backoff with jitter). */
        ingestBackoffMs: z.number().int().min(100).default(1000),
        /** Share of each source's rate budget that re-scan and backfill may not use (kept for live polling). */
        lowPriorityReserveFraction: z.number().min(0).max(0.9).default(0.25),
        /** TTL of the per-source window lock (renewed while a window runs). */
        lockTtlMs: z.number().int().min(1000).default(30_000),
        /** Backoff of retryable Slack errors (5xx, network, timeout, bad body), with jitter. */
        retryBaseMs: z.number().int().min(10).default(1000),
        retryMaxMs: z.number().int().min(10).default(60_000),
        /** Length of one backfill window. */
        backfillWindowSeconds: z.number().int().min(60).default(86_400),
      })
      .strict()
      .prefault({}),
    slackAdmin: z
      .object({
        token: z.string().optional(),
        ...secretRef,
        apiUrl: z.url().default('https://slack.com/api'),
        /** Our app's id / admin user ids: their own resets are never reacted to. */
        ownAppIds: z.array(z.string()).default([]),
        ownActorIds: z.array(z.string()).default([]),
      })
      .strict()
      .prefault({}),
    responses: z
      .object({
        mode: z.enum(['dry-run', 'enforce']).default('dry-run'),
        protectedUsers: z.array(z.string()).default([]),
        cooldownMinutes: z.number().min(0).default(60),
        maxPerHour: z.number().int().min(0).default(10),
        webhookTimeoutMs: z.number().int().min(100).default(10_000),
        /** Attempts per response action (retries honour Slack's Retry-After). */
        maxAttempts: z.number().int().min(1).max(50).default(8),
        /** After a crash between intent and outcome: how long the audit log may lag before a missing reset means "never sent". */
        reconcileGraceSeconds: z.number().min(0).default(120),
        /** Skip a reset when Slack's own anomaly event response reset the user this recently. */
        alreadyResetMinutes: z.number().min(0).default(60),
        /** Record, never execute, responses to alerts whose last event is older than this (backfills, catch-up after an outage); 0 = no limit. */
        maxAlertAgeMinutes: z.number().min(0).default(60),
      })
      .strict()
      .prefault({}),
    rules: z
      .object({
        dirs: z.array(z.string()).default([]),
        includeDefaultPack: z.boolean().default(true),
        /** Alert when a source has delivered no data for this long. */
        stallMinutes: z.number().min(1).default(30),
        /** Seconds between collection-stall checks in the rules worker. */
        stallCheckSeconds: z.number().min(1).default(60),
        /** Event-time retention of rule state beyond each window, for late events. */
        lateGraceMinutes: z.number().min(0).default(360),
        /** Slack event ids kept on one alert (slack.alert.event_ids). */
        eventIdsCap: z.number().int().min(100).max(10_000).default(200),
      })
      .strict()
      .prefault({}),
    geoip: z
      .object({
        enabled: z.boolean().default(true),
        /** MaxMind GeoLite2-City (or compatible) mmdb; defaults to the one shipped in @ip-location-db. */
        cityDb: z.string().optional(),
        /** MaxMind GeoLite2-ASN (or compatible) mmdb. */
        asnDb: z.string().optional(),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(9464),
      })
      .strict()
      .prefault({}),
    export: z
      .object({
        maxFileBytes: z.number().int().min(1024).default(256 * 1024 * 1024),
        hmacKeyFile: z.string().optional(),
        ed25519PrivateKeyFile: z.string().optional(),
        ed25519PublicKeyFile: z.string().optional(),
        daily: z
          .object({ enabled: z.boolean().default(false), dir: z.string().default('exports'), format: z.enum(['ndjson', 'csv']).default('ndjson') })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    shutdownGraceSeconds: z.number().min(0).default(30),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
