/** Small measuring helpers for the benchmark: machine info, peak memory sampling, formatting. */
import { readFileSync } from 'node:fs';
import { cpus, totalmem, loadavg } from 'node:os';
import type { Client } from '@elastic/elasticsearch';
import type { Redis } from 'ioredis';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memGiB: number;
  node: string;
  esVersion: string;
  esNodes: number;
  esHeapMiB: number;
  redisVersion: string;
  loadAvg1: number;
}

export async function machineInfo(es: Client, redis: Redis): Promise<MachineInfo> {
  // The slim test ES has no `GET /`: _nodes carries the version.
  const nodes = await es.nodes.info({ metric: 'jvm', filter_path: 'nodes.*.version,nodes.*.jvm.mem.heap_max_in_bytes' });
  const list = Object.values(nodes.nodes);
  const info = await redis.info('server');
  const cpuList = cpus();
  return {
    cores: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    esVersion: list[0]?.version ?? 'unknown',
    esNodes: list.length,
    esHeapMiB: Math.round((list[0]?.jvm?.mem.heap_max_in_bytes ?? 0) / 2 ** 20),
    redisVersion: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    loadAvg1: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

/** Peak RSS (VmHWM) of a process in bytes, from /proc; undefined once the process is gone or off Linux. */
export function vmHwm(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; undefined when unavailable. */
export function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" of the command name: state is field 3, utime 14, stime 15 (1-based).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]);
    return Number.isFinite(ticks) ? ticks / 100 : undefined; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/**
 * Samples this process' RSS while a stage runs (VmHWM of our own process only ever grows across stages, so the
 * in-process stages report the highest RSS seen while they ran).
 */
export class RssSampler {
  private peak = process.memoryUsage.rss();
  private readonly timer: NodeJS.Timeout;

  constructor(everyMs = 50) {
    this.timer = setInterval(() => {
      this.sample();
    }, everyMs);
  }

  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

export function mib(bytes: number | undefined): string {
  return bytes === undefined ? 'n/a' : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A plain fixed-width table (no colours: the output is pasted into BENCHMARKS.md). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const left = (i: number) => i === 0 || i === header.length - 1;
  const line = (cells: string[]) => `| ${cells.map((c, i) => (left(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (left(i) ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), sep, ...rows.map(line)].join('\n');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** CPU seconds (user + system, all threads) this process used while `fn` ran, and the wall seconds. */
export function timed<T>(fn: () => T): { value: T; seconds: number; cpuSeconds: number } {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { value, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/** Busy and total CPU seconds of the whole machine so far, from /proc/stat (undefined off Linux). */
export function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { busy: (total - idle) / 100, total: total / 100 };
  } catch {
    return undefined;
  }
}

/**
 * Who used the machine during a stage: a 2-core box shared with other work gives wall-clock figures only a
 * fraction of the cores. `ours` is the CPU seconds of every process the stage drove (bench, children, ES, Redis).
 */
export class MachineWatch {
  private readonly m0 = machineCpu();
  private readonly t0 = performance.now();
  private readonly servers0: number | undefined;

  constructor(private readonly serverCpu: () => number | undefined) {
    this.servers0 = serverCpu();
  }

  /** Seconds of ES + Redis CPU since the start. */
  serversSince(): number | undefined {
    const now = this.serverCpu();
    return now === undefined || this.servers0 === undefined ? undefined : now - this.servers0;
  }

  /** "busy 1.9/2 cores, ours 1.4, others 0.5" over the stage. */
  summary(oursCpuSeconds: number): string {
    const m1 = machineCpu();
    const wall = (performance.now() - this.t0) / 1000;
    if (!this.m0 || !m1 || wall <= 0) return 'machine share n/a';
    const cores = cpus().length;
    const busy = (m1.busy - this.m0.busy) / wall;
    const ours = oursCpuSeconds / wall;
    return `machine busy ${busy.toFixed(2)}/${String(cores)} cores: ours ${ours.toFixed(2)}, others ${Math.max(0, busy - ours).toFixed(2)}`;
  }
}
