/**
 * Stage 4: the real pipeline, end to end, as separate OS processes:
 *
 *   simulator (in this process, the bench entries injected, no faults)
 *     -> `slack-audit run --role scheduler` (polls /logs, pageLimit 9999, enqueues ingest jobs)
 *     -> BullMQ (Redis)
 *     -> `slack-audit run --role indexer` x N (normalize + bulk into ES)
 *
 * The indexers are started first and waited for (a long-running service is warm); the clock starts when the
 * scheduler is spawned and stops when `_count` on the events alias equals the number of injected entries.
 * The simulator's own history is off; it serves exactly the bench entries (the same ones stages 1-3 used).
 * While it runs, a sampler records the ingest queue depth, Redis used_memory (and its value at the deepest
 * queue), every child's peak RSS (VmHWM) and CPU seconds, and the CPU seconds of Elasticsearch and Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Queue } from 'bullmq';
import type { Client } from '@elastic/elasticsearch';
import type { Redis } from 'ioredis';
import { deepMerge, names } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { bullPrefix } from '../../src/queue/connection.js';
import { QUEUES } from '../../src/queue/jobs.js';
import { startSimulator } from '../../src/sim/server.js';
import type { RawEntry } from '../../src/slack/entry.js';
import { procCpuSeconds, sleep, vmHwm } from './measure.js';

export const ROOT = resolve(import.meta.dirname, '..', '..', ...(import.meta.dirname.includes('/dist/') ? ['..'] : []));
const CLI = resolve(ROOT, 'dist', 'src', 'cli.js');
const TOKEN = 'xoxp-bench-audit-token-0000';

export interface ProcFigures {
  name: string;
  pid: number;
  peakRss: number | undefined;
  cpuSeconds: number | undefined;
}

export interface PipelineFigures {
  indexers: number;
  events: number;
  seconds: number;
  eps: number;
  /** Seconds from the scheduler's spawn to the first searchable document (process start, first page). */
  firstDocSeconds: number;
  /** Seconds until the simulator had served every entry (the scheduler's part is done then). */
  allFetchedSeconds: number;
  /** Jobs left on the rules queue (nobody consumes it in this stage; its payloads sit in Redis). */
  rulesQueueJobs: number;
  procs: ProcFigures[];
  maxQueueDepth: number;
  redisUsedAtPeakDepth: number;
  redisUsedMax: number;
  redisUsedBefore: number;
  esCpuSeconds: number | undefined;
  redisCpuSeconds: number | undefined;
  benchCpuSeconds: number;
}

interface Child {
  name: string;
  proc: ChildProcess;
  ready: Promise<void>;
  exited: Promise<void>;
  lastHwm: number | undefined;
  lastCpu: number | undefined;
  /** CPU seconds when the clock started (indexers start before it: their start-up is not the pipeline's cost). */
  cpuAtStart: number;
}

function spawnRole(name: string, role: string, env: Record<string, string>, logDir: string, nodeArgs: string[]): Child {
  const out = createWriteStream(resolve(logDir, `${name}.log`), { flags: 'w' });
  const proc = spawn(process.execPath, [...nodeArgs, CLI, 'run', '--role', role, '--metrics-port', '0'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let buffered = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => {
    markReady = r;
  });
  const scan = (chunk: Buffer) => {
    out.write(chunk);
    buffered += chunk.toString('utf8');
    if (buffered.includes('"role started"')) markReady();
    if (buffered.length > 65536) buffered = buffered.slice(-4096);
  };
  proc.stdout.on('data', scan);
  proc.stderr.on('data', scan);
  const exited = new Promise<void>((r) => {
    proc.on('exit', () => {
      out.end();
      r();
    });
  });
  return { name, proc, ready: Promise.race([ready, exited.then(() => Promise.reject(new Error(`${name} exited before it was ready (see ${logDir}/${name}.log)`)))]), exited, lastHwm: undefined, lastCpu: undefined, cpuAtStart: 0 };
}

function sampleChild(c: Child): void {
  const pid = c.proc.pid;
  if (pid === undefined) return;
  c.lastHwm = vmHwm(pid) ?? c.lastHwm;
  c.lastCpu = procCpuSeconds(pid) ?? c.lastCpu;
}

async function stopChild(c: Child, timeoutMs = 20_000): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill('SIGTERM');
  const timer = setTimeout(() => c.proc.kill('SIGKILL'), timeoutMs);
  await c.exited;
  clearTimeout(timer);
}

function usedMemory(info: string): number {
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

/** PIDs of the local Elasticsearch and Redis servers (to read their CPU seconds from /proc). */
export async function serverPids(es: Client, redis: Redis): Promise<{ es: number | undefined; redis: number | undefined }> {
  const nodes = await es.nodes.info({ metric: 'process', filter_path: 'nodes.*.process.id' }).catch(() => undefined);
  const esPid = nodes ? Object.values(nodes.nodes)[0]?.process?.id : undefined;
  const info = await redis.info('server');
  const redisPid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  return { es: typeof esPid === 'number' && procCpuSeconds(esPid) !== undefined ? esPid : undefined, redis: Number.isFinite(redisPid) && procCpuSeconds(redisPid) !== undefined ? redisPid : undefined };
}

export interface PipelineRunOptions {
  config: Config;
  es: Client;
  redis: Redis;
  entries: readonly RawEntry[];
  indexers: number;
  spanHours: number;
  timeoutMs: number;
  logDir: string;
  /** Called when the clock starts (after injection and the indexers' start-up). */
  onClockStart?: () => void;
  /** Merged over the generated config (tuning experiments). */
  extraConfig?: Record<string, unknown>;
  /** Write a V8 CPU profile of every child process into logDir (node --cpu-prof). */
  profile?: boolean;
}

function yamlFor(config: Config, spanHours: number, extra: Record<string, unknown>): string {
  // JSON is valid YAML: no YAML writer needed for a generated file.
  return JSON.stringify(deepMerge({
    namespace: config.namespace,
    redis: { prefix: config.redis.prefix },
    sources: [
      {
        id: 'bench',
        // Fast mode: Slack's largest page, Slack's whole org budget, a short tick; no re-scan.
        pageLimit: 9999,
        rateBudgetPerMinute: 50,
        pollIntervalSeconds: 1,
        settleSeconds: 1,
        lookbackHours: spanHours + 2,
        rescan: { enabled: false },
      },
    ],
    logLevel: 'info',
    shutdownGraceSeconds: 10,
  }, extra));
}

export async function runPipeline(o: PipelineRunOptions): Promise<PipelineFigures> {
  const { config, es, redis } = o;
  const n = names(config);
  rmSync(o.logDir, { recursive: true, force: true });
  mkdirSync(o.logDir, { recursive: true });
  const configFile = resolve(o.logDir, 'bench-config.yaml');
  writeFileSync(configFile, yamlFor(config, o.spanHours, o.extraConfig ?? {}));

  const sim = await startSimulator({ seed: 'bench', token: TOKEN, historicalEvents: 0, liveRatePerSecond: 0, attackStory: false, rateLimitPerMinute: 0, faults: {} });
  const children: Child[] = [];
  const queueConnection = redis.duplicate();
  const ingest = new Queue(QUEUES.ingest, { connection: queueConnection, prefix: bullPrefix(config) });
  try {
    // The simulator runs in this process: hand it the entries directly (the HTTP /_sim/inject takes 16 MB at most).
    sim.state.inject([...o.entries]);
    const simCount = ((await (await fetch(`${sim.url}/_sim/events`)).json()) as { count: number }).count;
    if (simCount !== o.entries.length) throw new Error(`simulator holds ${String(simCount)} events, expected ${String(o.entries.length)}`);

    const env: Record<string, string> = {
      SLACK_AUDIT_CONFIG: configFile,
      SLACK_AUDIT_TOKEN: TOKEN,
      SLACK_AUDIT_API_URL: sim.auditUrl,
      REDIS_URL: config.redis.url,
      ELASTICSEARCH_URL: config.elasticsearch.url,
      LOG_LEVEL: 'info',
      CI: 'true',
    };
    const nodeArgs = o.profile ? ['--cpu-prof', `--cpu-prof-dir=${o.logDir}`] : [];
    for (let i = 0; i < o.indexers; i++) children.push(spawnRole(`indexer-${String(i + 1)}`, 'indexer', env, o.logDir, nodeArgs));
    await Promise.all(children.map((c) => c.ready));

    const pids = await serverPids(es, redis);
    const esCpu0 = pids.es !== undefined ? procCpuSeconds(pids.es) : undefined;
    const redisCpu0 = pids.redis !== undefined ? procCpuSeconds(pids.redis) : undefined;
    const benchCpu0 = process.cpuUsage();
    const redisUsedBefore = usedMemory(await redis.info('memory'));
    for (const ch of children) {
      sampleChild(ch);
      ch.cpuAtStart = ch.lastCpu ?? 0;
    }
    o.onClockStart?.();
    const t0 = performance.now();
    const scheduler = spawnRole('scheduler', 'scheduler', env, o.logDir, nodeArgs);
    children.push(scheduler);

    let maxQueueDepth = 0;
    let redisUsedAtPeakDepth = redisUsedBefore;
    let redisUsedMax = redisUsedBefore;
    let firstDocSeconds = 0;
    let allFetchedSeconds = 0;
    let count = 0;
    const deadline = Date.now() + o.timeoutMs;
    while (count < o.entries.length) {
      if (Date.now() > deadline) throw new Error(`pipeline timed out: ${String(count)}/${String(o.entries.length)} searchable after ${String(o.timeoutMs / 1000)} s (logs in ${o.logDir})`);
      const dead = children.find((c) => c.proc.exitCode !== null || c.proc.signalCode !== null);
      if (dead) throw new Error(`${dead.name} exited early (code ${String(dead.proc.exitCode)}, signal ${String(dead.proc.signalCode)}; logs in ${o.logDir})`);
      await sleep(200);
      const [c, counts, mem] = await Promise.all([
        es.count({ index: n.eventsAlias, ignore_unavailable: true, allow_no_indices: true }).then((r) => r.count, () => 0),
        ingest.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children'),
        redis.info('memory'),
      ]);
      count = c;
      if (count > 0 && firstDocSeconds === 0) firstDocSeconds = (performance.now() - t0) / 1000;
      if (allFetchedSeconds === 0 && sim.state.stats.entriesServed >= o.entries.length) allFetchedSeconds = (performance.now() - t0) / 1000;
      const depth = Object.values(counts).reduce((a, b) => a + b, 0);
      const used = usedMemory(mem);
      redisUsedMax = Math.max(redisUsedMax, used);
      if (depth >= maxQueueDepth) {
        maxQueueDepth = depth;
        redisUsedAtPeakDepth = used;
      }
      for (const ch of children) sampleChild(ch);
    }
    const seconds = (performance.now() - t0) / 1000;
    const benchCpu = process.cpuUsage(benchCpu0);
    for (const ch of children) sampleChild(ch);
    const esCpu1 = pids.es !== undefined ? procCpuSeconds(pids.es) : undefined;
    const redisCpu1 = pids.redis !== undefined ? procCpuSeconds(pids.redis) : undefined;
    const rulesQueue = new Queue(QUEUES.rules, { connection: queueConnection, prefix: bullPrefix(config) });
    const rulesQueueJobs = Object.values(await rulesQueue.getJobCounts('wait', 'active', 'delayed', 'prioritized')).reduce((a, b) => a + b, 0);
    await rulesQueue.close();
    if (count > o.entries.length) throw new Error(`pipeline indexed ${String(count)} documents for ${String(o.entries.length)} events: duplicates`);
    return {
      indexers: o.indexers,
      events: o.entries.length,
      seconds,
      eps: o.entries.length / seconds,
      firstDocSeconds,
      allFetchedSeconds,
      rulesQueueJobs,
      procs: children.map((ch) => ({ name: ch.name, pid: ch.proc.pid ?? 0, peakRss: ch.lastHwm, cpuSeconds: ch.lastCpu === undefined ? undefined : ch.lastCpu - ch.cpuAtStart })),
      maxQueueDepth,
      redisUsedAtPeakDepth,
      redisUsedMax,
      redisUsedBefore,
      esCpuSeconds: esCpu0 !== undefined && esCpu1 !== undefined ? esCpu1 - esCpu0 : undefined,
      redisCpuSeconds: redisCpu0 !== undefined && redisCpu1 !== undefined ? redisCpu1 - redisCpu0 : undefined,
      benchCpuSeconds: (benchCpu.user + benchCpu.system) / 1e6,
    };
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
    await ingest.close();
    queueConnection.disconnect();
    await sim.close();
  }
}
