/**
 * Generate docs/configuration.md from the zod schema (src/config/schema.ts) and the env contract
 * (ENV_VARS in src/config/load.ts):
 *   npx tsc -p tsconfig.build.json && node dist/scripts/gen-config-docs.js
 * test/unit/config-docs.test.ts regenerates it in memory and fails when the committed file is stale.
 *
 * Types, defaults and bounds come from `z.toJSONSchema(configSchema)`. Descriptions come from the schema's
 * own `.describe()`/`.meta()` when present, else from the `/** ... *\/` comment above the key in schema.ts
 * (read with the TypeScript parser, so nesting is exact), else from the short list below.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { z } from 'zod';
import { ENV_VARS, PROJECT_ROOT } from '../src/config/load.js';
import { configSchema } from '../src/config/schema.js';

export const CONFIG_DOC = resolve(PROJECT_ROOT, 'docs', 'configuration.md');
const SCHEMA_SOURCE = resolve(PROJECT_ROOT, 'src', 'config', 'schema.ts');

/** Descriptions for keys whose schema has no comment (path as in the table; `[]` = every array item). */
const FALLBACK: Record<string, string> = {
  namespace: 'Suffix of every index and Redis key name (`logs-slack.audit-<ns>-*`, `slack-audit-alerts-<ns>`, ...), so several pipelines can share one Elasticsearch and Redis.',
  sources: 'Slack Enterprise orgs to collect. The single-org env vars (SLACK_AUDIT_TOKEN, SLACK_AUDIT_POLL_INTERVAL, ...) create or override the first one.',
  'sources[].id': 'Stable id of the org in index documents, Redis keys and metrics.',
  'sources[].apiUrl': 'Audit Logs API base URL (a simulator in tests and the demo).',
  'sources[].pollIntervalSeconds': 'Seconds between two live polls.',
  'sources[].latenessSeconds': 'How far back each poll re-reads, to catch events Slack publishes late.',
  'sources[].lookbackHours': 'History read on the first run.',
  'sources[].rescan': 'Periodic re-read of a longer window to catch very late events (deduplicated on the Slack event id).',
  'sources[].enabled': 'A disabled source is neither polled nor reported as stale by `status`.',
  'redis.url': 'Redis for BullMQ queues and pipeline state (needs `maxmemory-policy noeviction`).',
  'redis.prefix': 'Prefix of every Redis key (BullMQ keys use `<prefix>-bull:<namespace>`).',
  'elasticsearch.url': 'Elasticsearch URL.',
  'elasticsearch.apiKey': 'API key (base64 `id:key`); preferred over username/password.',
  'elasticsearch.caFile': 'PEM CA certificate for a TLS Elasticsearch.',
  'elasticsearch.keepOriginal': 'Keep the raw Slack entry in `event.original`.',
  'elasticsearch.shards': 'Primary shards of new indices.',
  'elasticsearch.replicas': 'Replicas of new indices (0 on a single node).',
  'slackAdmin.apiUrl': 'Slack Web API base URL for admin.users.session.*.',
  'responses.mode': '`dry-run` records what would be done; `enforce` calls Slack.',
  'responses.protectedUsers': 'Slack user ids never acted on (merged with SLACK_AUDIT_PROTECTED_USERS).',
  'responses.cooldownMinutes': 'At most one response per user and action within this time.',
  'responses.maxPerHour': 'Cap on enforced responses per hour, across all users.',
  'rules.dirs': 'Extra directories of rule YAML files.',
  'rules.includeDefaultPack': 'Load the rules shipped in config/rules/.',
  'geoip.enabled': 'Add source.geo.* and source.as.* from local mmdb files (no network lookups).',
  'metrics.host': 'Interface of the /healthz, /readyz and /metrics server. Loopback unless you mean to expose it.',
  'metrics.port': 'Port of the ops server (0 picks a free port).',
  'export.maxFileBytes': 'Split export files at this size.',
  'export.hmacKeyFile': 'Key for the HMAC over the export manifest.',
  'sources[].rescan.enabled': 'Turn the periodic re-scan on or off.',
  'sources[].rescan.everyMinutes': 'Minutes between two re-scans.',
  'sources[].rescan.lookbackHours': 'Hours each re-scan re-reads.',
  redis: 'Redis connection.',
  elasticsearch: 'Elasticsearch connection, index layout and bulk writing.',
  'elasticsearch.username': 'Basic-auth user (with password).',
  'elasticsearch.password': 'Basic-auth password; set it from ELASTICSEARCH_PASSWORD rather than the file.',
  'elasticsearch.bulk': 'Bulk requests of the indexer.',
  'elasticsearch.bulk.maxDocs': 'Documents per bulk request.',
  'elasticsearch.bulk.maxBytes': 'Bytes per bulk request.',
  'elasticsearch.bulk.concurrency': 'Bulk requests in flight per indexer.',
  'elasticsearch.requestTimeoutMs': 'Timeout of one Elasticsearch request.',
  collector: 'Polling, chunking into ingest jobs, retries and backpressure.',
  'collector.httpTimeoutMs': 'Timeout of one Audit Logs API request.',
  'collector.indexerConcurrency': 'Ingest jobs one indexer process handles at once.',
  'collector.retryMaxMs': 'Longest backoff between two retries of a retryable Slack error.',
  slackAdmin: 'Slack Web API access for response actions.',
  'slackAdmin.token': 'Resolved at load time from tokenEnv/tokenFile/SLACK_ADMIN_TOKEN; never written in YAML.',
  'slackAdmin.ownActorIds': 'Slack user ids of our own admin actor: events they cause are never reacted to.',
  responses: 'Automated responses and their guard rails.',
  'responses.webhookTimeoutMs': 'Timeout of one webhook notification.',
  rules: 'Alert rules.',
  geoip: 'Offline GeoIP enrichment.',
  metrics: 'Health and metrics server of `run` processes.',
  export: 'Compliance exports.',
  'export.ed25519PrivateKeyFile': 'Ed25519 private key (PEM) that signs export manifests.',
  'export.ed25519PublicKeyFile': 'Ed25519 public key (PEM) used by `export verify`.',
  'export.daily': 'Daily export written by the scheduler.',
  'export.daily.enabled': 'Write one export per UTC day.',
  'export.daily.dir': 'Directory of the daily exports.',
  'export.daily.format': 'File format of the daily exports.',
  shutdownGraceSeconds: 'On SIGTERM, time given to in-flight jobs before the process exits (a second SIGTERM exits at once).',
  logLevel: 'pino log level (LOG_LEVEL overrides it).',
};

/** What each public env var sets. Typed on ENV_VARS, so a new env var does not compile until documented. */
const ENV_DOCS: Record<(typeof ENV_VARS)[number], { sets: string; note: string }> = {
  SLACK_AUDIT_CONFIG: { sets: '(config file path)', note: 'YAML config file; default `config/default.yaml`. `--config` wins over it.' },
  SLACK_AUDIT_TOKEN: { sets: 'sources[0].token', note: 'Audit Logs API token (`xoxp-`, org owner, `auditlogs:read`). Creates source `default` when the file has none.' },
  SLACK_ADMIN_TOKEN: { sets: 'slackAdmin.token', note: 'Token for admin.users.session.* (only used with `enforce`).' },
  SLACK_AUDIT_API_URL: { sets: 'sources[0].apiUrl', note: 'Default `https://api.slack.com/audit/v1`.' },
  SLACK_API_URL: { sets: 'slackAdmin.apiUrl', note: 'Default `https://slack.com/api`.' },
  REDIS_URL: { sets: 'redis.url', note: 'Default `redis://127.0.0.1:6379`.' },
  ELASTICSEARCH_URL: { sets: 'elasticsearch.url', note: 'Default `http://127.0.0.1:9200`.' },
  ELASTICSEARCH_API_KEY: { sets: 'elasticsearch.apiKey', note: 'Secret; redacted from logs.' },
  ELASTICSEARCH_USERNAME: { sets: 'elasticsearch.username', note: 'Basic auth (with ELASTICSEARCH_PASSWORD).' },
  ELASTICSEARCH_PASSWORD: { sets: 'elasticsearch.password', note: 'Secret; redacted from logs.' },
  ELASTICSEARCH_CA_FILE: { sets: 'elasticsearch.caFile', note: 'PEM CA file for TLS.' },
  SLACK_AUDIT_NAMESPACE: { sets: 'namespace', note: 'Default `default`.' },
  SLACK_AUDIT_POLL_INTERVAL: { sets: 'sources[0].pollIntervalSeconds', note: 'Seconds, default 60.' },
  SLACK_AUDIT_LATENESS_SECONDS: { sets: 'sources[0].latenessSeconds', note: 'Seconds, default 300.' },
  SLACK_AUDIT_LOOKBACK_HOURS: { sets: 'sources[0].lookbackHours', note: 'Hours of history on the first run, default 168.' },
  SLACK_AUDIT_RESPONSES: { sets: 'responses.mode', note: '`dry-run` (default) or `enforce`.' },
  SLACK_AUDIT_PROTECTED_USERS: { sets: 'responses.protectedUsers', note: 'Comma-separated Slack user ids, added to the file\'s list.' },
  SLACK_AUDIT_METRICS_PORT: { sets: 'metrics.port', note: 'Default 9464, bound to `metrics.host` (127.0.0.1).' },
};

// ---- JSDoc comments of schema.ts, by key path ----

function jsDocOf(node: ts.Node, sf: ts.SourceFile): string | undefined {
  const ranges = ts.getLeadingCommentRanges(sf.text, node.getFullStart()) ?? [];
  const last = ranges.filter((r) => sf.text.slice(r.pos, r.pos + 3) === '/**').at(-1);
  if (!last) return undefined;
  return sf.text
    .slice(last.pos + 3, last.end - 2)
    .split('\n')
    .map((l) => l.replace(/^\s*\*\s?/, '').trim())
    .filter(Boolean)
    .join(' ');
}

/** Walk `z.object({...})` literals (through call chains, spreads and schema variables), recording comments by path. */
export function schemaComments(source = readFileSync(SCHEMA_SOURCE, 'utf8')): Map<string, string> {
  const sf = ts.createSourceFile('schema.ts', source, ts.ScriptTarget.ES2022, true);
  const vars = new Map<string, ts.Expression>();
  sf.forEachChild((stmt) => {
    if (!ts.isVariableStatement(stmt)) return;
    for (const d of stmt.declarationList.declarations) if (ts.isIdentifier(d.name) && d.initializer) vars.set(d.name.text, d.initializer);
  });
  const out = new Map<string, string>();
  const visitObjectLiteral = (obj: ts.ObjectLiteralExpression, prefix: string, seen: Set<string>) => {
    for (const prop of obj.properties) {
      if (ts.isSpreadAssignment(prop) && ts.isIdentifier(prop.expression)) {
        const target = vars.get(prop.expression.text);
        if (target && ts.isObjectLiteralExpression(target)) visitObjectLiteral(target, prefix, seen);
        continue;
      }
      if (!ts.isPropertyAssignment(prop) || !(ts.isIdentifier(prop.name) || ts.isStringLiteral(prop.name))) continue;
      const path = prefix ? `${prefix}.${prop.name.text}` : prop.name.text;
      const doc = jsDocOf(prop, sf);
      if (doc) out.set(path, doc);
      visitExpr(prop.initializer, path, seen);
    }
  };
  const visitExpr = (expr: ts.Node, path: string, seen: Set<string>) => {
    const walk = (n: ts.Node, p: string): void => {
      if (ts.isCallExpression(n)) {
        const callee = n.expression;
        const isArray = ts.isPropertyAccessExpression(callee) && callee.name.text === 'array';
        const isObject = ts.isPropertyAccessExpression(callee) && (callee.name.text === 'object' || callee.name.text === 'strictObject');
        for (const arg of n.arguments) {
          if (isObject && ts.isObjectLiteralExpression(arg)) visitObjectLiteral(arg, p, seen);
          else if (isArray) walk(arg, `${p}[]`);
        }
        walk(callee, p);
        return;
      }
      if (ts.isPropertyAccessExpression(n)) { walk(n.expression, p); return; }
      if (ts.isParenthesizedExpression(n)) { walk(n.expression, p); return; }
      if (ts.isIdentifier(n) && !seen.has(n.text)) {
        const target = vars.get(n.text);
        if (target) walk(target, p);
      }
    };
    walk(expr, path);
  };
  const root = vars.get('configSchema');
  if (!root) throw new Error('configSchema not found in src/config/schema.ts');
  visitExpr(root, '', new Set());
  return out;
}

// ---- JSON Schema walk ----

const jsonSchemaNode = z
  .object({
    type: z.union([z.string(), z.array(z.string())]).optional(),
    description: z.string().optional(),
    default: z.unknown().optional(),
    enum: z.array(z.unknown()).optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    minLength: z.number().optional(),
    pattern: z.string().optional(),
    format: z.string().optional(),
    get properties() {
      return z.record(z.string(), jsonSchemaNode).optional();
    },
    get items() {
      return jsonSchemaNode.optional();
    },
    get anyOf() {
      return z.array(jsonSchemaNode).optional();
    },
  })
  .loose();
type Node = z.infer<typeof jsonSchemaNode>;

interface Row {
  path: string;
  type: string;
  default: string;
  description: string;
}

function typeOf(n: Node): string {
  if (n.enum) return n.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (n.anyOf) return n.anyOf.map(typeOf).join(' \\| ');
  if (n.type === 'array') return `${n.items ? typeOf(n.items) : 'any'}[]`;
  const t = Array.isArray(n.type) ? n.type.join(' \\| ') : (n.type ?? 'any');
  if (n.format === 'uri') return 'URL';
  if (n.format === 'date-time') return 'ISO date-time';
  return t;
}

function constraints(n: Node): string {
  const c: string[] = [];
  const big = (v: number) => Math.abs(v) >= Number.MAX_SAFE_INTEGER;
  if (n.minimum !== undefined && n.maximum !== undefined && !big(n.maximum)) c.push(`${n.minimum}–${n.maximum}`);
  else if (n.minimum !== undefined) c.push(`≥ ${n.minimum}`);
  else if (n.maximum !== undefined && !big(n.maximum)) c.push(`≤ ${n.maximum}`);
  if (n.pattern && n.format !== 'date-time') c.push(`pattern \`${n.pattern}\``);
  return c.length ? ` (${c.join(', ')})` : '';
}

function fmtDefault(n: Node): string {
  if (n.default === undefined) return '—';
  if (n.type === 'object') return '(see keys)';
  return `\`${JSON.stringify(n.default)}\``;
}

const escape = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function rows(n: Node, path: string, comments: Map<string, string>, out: Row[]): Row[] {
  const isObject = n.type === 'object' && n.properties;
  const description = n.description ?? comments.get(path) ?? FALLBACK[path] ?? '';
  if (path) out.push({ path, type: isObject ? 'object' : typeOf(n), default: fmtDefault(n), description: escape((description + constraints(n)).trim()) });
  if (isObject) for (const [k, child] of Object.entries(n.properties ?? {})) rows(child, path ? `${path}.${k}` : k, comments, out);
  if (n.type === 'array' && n.items?.type === 'object') {
    for (const [k, child] of Object.entries(n.items.properties ?? {})) rows(child, `${path}[].${k}`, comments, out);
  }
  return out;
}

export function renderConfigDocs(): string {
  const schema = jsonSchemaNode.parse(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }));
  const table = rows(schema, '', schemaComments(), []);
  const lines: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated by scripts/gen-config-docs.ts from src/config/schema.ts and ENV_VARS in src/config/load.ts.',
    '     Do not edit by hand: run `npx tsc -p tsconfig.build.json && node dist/scripts/gen-config-docs.js`. -->',
    '',
    'slack-audit reads one YAML file (`--config`, else `$SLACK_AUDIT_CONFIG`, else `config/default.yaml`), then applies',
    'the environment variables below, which override the file. Every key has a default, so an empty file plus',
    '`SLACK_AUDIT_TOKEN` is a working single-org setup. A bad value stops the process at start with the path of the',
    'bad key (for example `sources.0.pollIntervalSeconds: Too small: expected number to be >=1`) and exit code 78.',
    'Secrets never go in the YAML: use the env vars, or `tokenEnv` / `tokenFile` per source.',
    '',
    '## Environment variables',
    '',
    '| variable | sets | notes |',
    '|---|---|---|',
    ...ENV_VARS.map((v) => `| \`${v}\` | \`${ENV_DOCS[v].sets}\` | ${escape(ENV_DOCS[v].note)} |`),
    '| `LOG_LEVEL` | `logLevel` | Overrides the log level (not part of the config tree). |',
    '',
    '## Config file keys',
    '',
    '`[]` marks a key of every item of a list (e.g. `sources[].id`).',
    '',
    '| key | type | default | description |',
    '|---|---|---|---|',
    ...table.map((r) => `| \`${r.path}\` | ${r.type} | ${r.default} | ${r.description} |`),
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(CONFIG_DOC, renderConfigDocs());
  process.stdout.write(`wrote ${CONFIG_DOC}\n`);
}
