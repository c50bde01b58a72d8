/**
 * Chaos e2e: the pipeline runs as separate OS processes (scheduler, 2 indexers, rules) against a live
 * simulator with 429s, 5xx, HTML error pages, malformed JSON, hanging responses, expiring cursors, late events and
 * same-second bursts, while this harness kill -9s random
 * processes at random moments, kill -9s Elasticsearch once and restarts Redis once. At the end it compares
 * the simulator's list of every event it produced with what is in Elasticsearch.
 *
 *   node dist/test/chaos/run-chaos.js [--profile short|full] [--seed N]
 *
 * It runs its own Redis and Elasticsearch on separate ports so that restarting them disturbs nothing else.
 * Prints one line: lost=0 duplicated=0 retry_after_ignored=0 kills=N es_restarts=1 redis_restarts=1 events=M
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { startSimulator } from '../../src/sim/server.js';
import { QUEUES } from '../../src/queue/jobs.js';
import { ROOT, spawnCli, killHard, stopGracefully, sleep, waitFor, type Proc } from '../helpers/procs.js';

interface Profile {
  historicalEvents: number;
  liveRatePerSecond: number;
  chaosSeconds: number;
  convergeSeconds: number;
  killEveryMs: [number, number];
}

const PROFILES: Record<string, Profile> = {
  short: { historicalEvents: 3000, liveRatePerSecond: 10, chaosSeconds: 90, convergeSeconds: 240, killEveryMs: [3000, 8000] },
  full: { historicalEvents: 20000, liveRatePerSecond: 30, chaosSeconds: 600, convergeSeconds: 600, killEveryMs: [5000, 20000] },
};

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : dflt;
};
const profileName = arg('profile', process.env.CHAOS_PROFILE ?? 'short');
const maybeProfile = PROFILES[profileName];
if (!maybeProfile) throw new Error(`unknown profile ${profileName}`);
const profile: Profile = maybeProfile;
let seed = Number(arg('seed', String(Date.now() % 100000)));
const rand = (): number => {
  // mulberry32: reproducible kill schedule from --seed
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const REDIS_PORT = Number(process.env.CHAOS_REDIS_PORT ?? 6391);
const ES_PORT = Number(process.env.CHAOS_ES_PORT ?? 9211);
const REDIS_URL = `redis://127.0.0.1:${REDIS_PORT}`;
const ES_URL = `http://127.0.0.1:${ES_PORT}`;
const SERVICES_DIR = resolve(ROOT, '.services', 'chaos');
const LOG_DIR = resolve(ROOT, '.services', 'chaos-logs', `${Date.now()}`);
const servicesEnv = { ...process.env, REDIS_URL, ELASTICSEARCH_URL: ES_URL, SLACK_AUDIT_SERVICES_DIR: SERVICES_DIR, SLACK_AUDIT_ES_HEAP: '-Xms512m -Xmx512m' };
const services = (cmd: string) => execFileSync('bash', [resolve(ROOT, 'scripts', 'services.sh'), cmd], { env: servicesEnv, stdio: ['ignore', 'ignore', 'inherit'] });
const servicesAsync = (cmd: string) => promisify(execFile)('bash', [resolve(ROOT, 'scripts', 'services.sh'), cmd], { env: servicesEnv });

/** The pid listening on a loopback port (ES forks a JVM, so a pidfile can lag behind; the socket cannot). */
function pidOnPort(port: number): number | undefined {
  const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  const m = /pid=(\d+)/.exec(out);
  return m ? Number(m[1]) : undefined;
}

function killPort(port: number): void {
  const pid = pidOnPort(port);
  if (pid !== undefined) process.kill(pid, 'SIGKILL');
}

function say(msg: string): void {
  process.stderr.write(`[chaos +${Math.round((Date.now() - t0) / 1000)}s] ${msg}\n`);
}
const t0 = Date.now();

async function main(): Promise<number> {
  mkdirSync(LOG_DIR, { recursive: true });
  say(`profile ${profileName}, seed ${seed}, logs in ${LOG_DIR}`);
  // Leftovers of an interrupted run would make 'up' reuse them without pidfiles.
  killPort(ES_PORT);
  killPort(REDIS_PORT);
  await sleep(500);
  services('up');
  const namespace = 'chaos';
  const es = new Client({ node: ES_URL, requestTimeout: 30_000 });
  await resetState(es, namespace);

  const token = 'xoxp-chaos-audit-token-1234567890';
  const adminToken = 'xoxp-chaos-admin-token-1234567890';
  const sim = await startSimulator({
    seed: 7,
    token,
    adminToken,
    historicalEvents: profile.historicalEvents,
    historyHours: 6,
    liveRatePerSecond: profile.liveRatePerSecond,
    sameSecondBurstSize: 40,
    attackStory: true,
    faults: { rate429: 0.08, retryAfterSeconds: 2, error5xxRate: 0.05, htmlErrorRate: 0.02, malformedJsonRate: 0.02, hangRate: 0.01, lateRate: 0.05, maxLatenessSeconds: 20, cursorTtlSeconds: 30 },
  });
  say(`simulator at ${sim.url}`);
  const env: Record<string, string> = {
    REDIS_URL,
    ELASTICSEARCH_URL: ES_URL,
    SLACK_AUDIT_NAMESPACE: namespace,
    SLACK_AUDIT_TOKEN: token,
    SLACK_ADMIN_TOKEN: adminToken,
    SLACK_AUDIT_API_URL: sim.auditUrl,
    SLACK_API_URL: sim.apiUrl,
    SLACK_AUDIT_POLL_INTERVAL: '2',
    SLACK_AUDIT_LATENESS_SECONDS: '60',
    SLACK_AUDIT_LOOKBACK_HOURS: '7',
    SLACK_AUDIT_RESPONSES: 'enforce',
    SLACK_AUDIT_CONFIG: resolve(ROOT, 'test', 'fixtures', 'chaos.yaml'),
    LOG_LEVEL: 'info',
  };
  const roles: Record<string, string[]> = {
    scheduler: ['run', '--role', 'scheduler', '--metrics-port', '0'],
    'indexer-1': ['run', '--role', 'indexer', '--metrics-port', '0'],
    'indexer-2': ['run', '--role', 'indexer', '--metrics-port', '0'],
    rules: ['run', '--role', 'rules', '--metrics-port', '0'],
  };
  const procs = new Map<string, Proc>();
  const start = (name: string) => procs.set(name, spawnCli(name, roles[name] ?? [], env, LOG_DIR));
  for (const name of Object.keys(roles)) start(name);

  let kills = 0;
  let esRestarts = 0;
  let redisRestarts = 0;
  const chaosEnd = Date.now() + profile.chaosSeconds * 1000;
  const esAt = Date.now() + profile.chaosSeconds * 300;
  const redisAt = Date.now() + profile.chaosSeconds * 600;
  // Every role is killed at least once (in a random order), then victims are drawn at random. Service restarts
  // run in the background so that process kills go on while Elasticsearch or Redis is down.
  const firstRound = Object.keys(roles).sort(() => rand() - 0.5);
  const background: Promise<void>[] = [];
  while (Date.now() < chaosEnd || firstRound.length > 0) {
    const [lo, hi] = profile.killEveryMs;
    await sleep(lo + rand() * (hi - lo));
    const names = [...procs.keys()];
    const victim = firstRound.shift() ?? names[Math.floor(rand() * names.length)] ?? 'scheduler';
    const p = procs.get(victim);
    if (p) {
      await killHard(p);
      kills += 1;
      say(`kill -9 ${victim} (kill #${kills})`);
      await sleep(200 + rand() * 1500);
      start(victim);
    }
    if (esRestarts === 0 && Date.now() > esAt) {
      esRestarts += 1;
      const pid = pidOnPort(ES_PORT);
      say(`kill -9 elasticsearch (pid ${pid ?? '?'})`);
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
      background.push(sleep(3000).then(() => servicesAsync('up-es')).then(() => { say('elasticsearch back'); }));
    }
    if (redisRestarts === 0 && Date.now() > redisAt) {
      redisRestarts += 1;
      say('restarting redis (AOF on)');
      const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, retryStrategy: () => null });
      r.on('error', () => undefined);
      await r.call('SHUTDOWN').catch(() => undefined);
      r.disconnect();
      background.push(sleep(2000).then(() => servicesAsync('up-redis')).then(() => { say('redis back'); }));
    }
  }
  await Promise.all(background);

  say('chaos over: stopping live traffic and faults, waiting for convergence');
  await fetch(`${sim.url}/_sim/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ liveRatePerSecond: 0, faults: { rate429: 0, error5xxRate: 0, htmlErrorRate: 0, malformedJsonRate: 0, hangRate: 0, lateRate: 0 } }) });
  const simIds = async (): Promise<string[]> => ((await (await fetch(`${sim.url}/_sim/events`)).json()) as { ids: string[] }).ids;
  let expected = await simIds();
  const alias = `logs-slack.audit-${namespace}`;
  let seen: { unique: Set<string>; total: number } = { unique: new Set(), total: 0 };
  try {
    await waitFor('every simulator event in Elasticsearch', async () => {
      expected = await simIds();
      await es.indices.refresh({ index: alias, ignore_unavailable: true });
      seen = await allIds(es, alias);
      say(`converging: ${seen.unique.size}/${expected.length} events in ES`);
      return expected.every((id) => seen.unique.has(id)) ? true : undefined;
    }, profile.convergeSeconds * 1000, 5000);
  } catch (err) {
    say(String(err));
  }
  // Let in-flight duplicates (if any bug produced them) land before counting.
  await sleep(3000);
  await es.indices.refresh({ index: alias, ignore_unavailable: true });
  seen = await allIds(es, alias);
  const stats = (await (await fetch(`${sim.url}/_sim/stats`)).json()) as { retryAfterIgnored: number };
  const lost = expected.filter((id) => !seen.unique.has(id)).length;
  const duplicated = seen.total - seen.unique.size;
  for (const p of procs.values()) await stopGracefully(p, 15_000);
  await sim.close();
  await es.close();
  if (process.env.CHAOS_KEEP_SERVICES !== '1') {
    services('down');
    killPort(ES_PORT);
    killPort(REDIS_PORT);
  }
  const line = `lost=${lost} duplicated=${duplicated} retry_after_ignored=${stats.retryAfterIgnored} kills=${kills} es_restarts=${esRestarts} redis_restarts=${redisRestarts} events=${expected.length}`;
  process.stdout.write(`${line}\n`);
  return lost === 0 && duplicated === 0 && stats.retryAfterIgnored === 0 && kills > 0 && esRestarts === 1 && redisRestarts === 1 ? 0 : 1;
}

async function resetState(es: Client, namespace: string): Promise<void> {
  await es.indices.delete({ index: `logs-slack.audit-${namespace}-*,slack-audit-*-${namespace}`, ignore_unavailable: true, allow_no_indices: true });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  await redis.flushall();
  for (const q of Object.values(QUEUES)) await new Queue(q, { connection: redis }).close();
  redis.disconnect();
}

/** Every `_id` in the alias and the total doc count (a duplicate would be the same id in two indices). */
async function allIds(es: Client, index: string): Promise<{ unique: Set<string>; total: number }> {
  const unique = new Set<string>();
  let total = 0;
  const exists = await es.indices.exists({ index });
  if (!exists) return { unique, total };
  const pit = await es.openPointInTime({ index, keep_alive: '1m' });
  let after: (string | number)[] | undefined;
  try {
    for (;;) {
      const res = await es.search({ size: 5000, pit: { id: pit.id, keep_alive: '1m' }, sort: [{ _shard_doc: 'asc' }], _source: false, fields: ['event.id'], ...(after ? { search_after: after } : {}) });
      const hits = res.hits.hits;
      if (hits.length === 0) break;
      for (const h of hits) {
        total += 1;
        unique.add(h._id ?? '');
      }
      after = hits[hits.length - 1]?.sort as (string | number)[];
    }
  } finally {
    await es.closePointInTime({ id: pit.id }).catch(() => undefined);
  }
  return { unique, total };
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos harness failed: ${String(err)}\n`);
    if (process.env.CHAOS_KEEP_SERVICES !== '1') {
      try {
        services('down');
      } catch {
        /* best effort */
      }
    }
    process.exit(2);
  },
);
