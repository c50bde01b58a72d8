import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { readSourceState } from '../../src/collect/coverage.js';
import { collectKeys } from '../../src/collect/keys.js';
import { collectFixture, collectedIds, ingestJobs, simEntries, simStats, waitFor, type CollectFixture } from '../helpers/collect-harness.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const ENTRY = resolve(ROOT, 'dist', 'test', 'helpers', 'run-scheduler.js');

/** Build only when the compiled scheduler is older than its sources (the build is slow on a shared machine). */
function ensureBuilt(): void {
  const sources = [
    ...readdirSync(resolve(ROOT, 'src', 'collect')).map((f) => resolve(ROOT, 'src', 'collect', f)),
    resolve(ROOT, 'workers', 'scheduler.ts'),
    resolve(ROOT, 'test', 'helpers', 'run-scheduler.ts'),
    resolve(ROOT, 'src', 'slack', 'audit-client.ts'),
  ];
  const built = existsSync(ENTRY) ? statSync(ENTRY).mtimeMs : 0;
  const compiledScheduler = resolve(ROOT, 'dist', 'workers', 'scheduler.js');
  const oldest = Math.min(built, existsSync(compiledScheduler) ? statSync(compiledScheduler).mtimeMs : 0);
  if (sources.some((s) => statSync(s).mtimeMs > oldest)) {
    try {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
    } catch {
      // Type errors elsewhere in the tree still emit JavaScript; the existence check below is what matters.
    }
  }
  if (!existsSync(ENTRY)) throw new Error(`build did not produce ${ENTRY}`);
}

let fx: CollectFixture | undefined;
const children: ChildProcess[] = [];

function spawnScheduler(f: CollectFixture): Promise<ChildProcess> {
  const overrides = { namespace: f.config.namespace, redis: f.config.redis, sources: f.config.sources, collector: f.config.collector, logLevel: 'warn' };
  const child = spawn(process.execPath, [ENTRY], { cwd: ROOT, env: { ...process.env, SLACK_AUDIT_TEST_OVERRIDES: JSON.stringify(overrides), LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolveReady, reject) => {
    child.once('exit', (code) => {
      reject(new Error(`scheduler child exited early (${String(code)})`));
    });
    child.stdout.on('data', (b: Buffer) => {
      if (b.toString().includes('scheduler-ready')) resolveReady(child);
    });
  });
}

beforeAll(() => {
  ensureBuilt();
}, 300_000);

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await fx?.cleanup();
  fx = undefined;
});

describe('collector crash safety', () => {
  it('kill -9 mid-window: a new scheduler resumes from the saved cursor and nothing is lost', async () => {
    fx = await collectFixture({ historicalEvents: 500, historyHours: 0.5, sameSecondBurstSize: 30, faults: { slowMs: 150 } }, { pageLimit: 15 }, { lockTtlMs: 2000, httpTimeoutMs: 2000 });
    const f = fx;
    const startedAt = Math.floor(Date.now() / 1000);
    const keys = collectKeys(fx.config, 'acme');
    const first = await spawnScheduler(fx);
    await waitFor('mid-window', async () => Number((await f.redis.hget(keys.liveWindow, 'page')) ?? 0) >= 4, 30_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const atKill = await fx.redis.hgetall(keys.liveWindow);
    const requestsAtKill = (await simStats(fx.sim)).logsRequests;
    // Killed mid-window: the watermark did not move, the position (cursor + page) is saved.
    expect((await readSourceState(fx.redis, fx.config, 'acme')).watermark).toBeNull();
    expect(atKill.cursor).not.toBe('');
    const pageAtKill = Number(atKill.page);

    await spawnScheduler(fx);
    const w = await waitFor('watermark after restart', async () => {
      const s = await readSourceState(f.redis, f.config, 'acme');
      return s.watermark !== null && s.watermark >= startedAt - 2 ? s.watermark : null;
    }, 60_000);
    const want = (await simEntries(fx.sim)).filter((e) => e.date_create <= w);
    const got = await collectedIds(fx.ingest);
    expect(want.filter((e) => !got.has(e.id))).toEqual([]);

    // The first window kept its bounds and page numbering across the crash, and the restart did not re-read it
    // from the top: it fetched only the pages after the saved position (+1 replayed page at most).
    const firstWindow = (await ingestJobs(fx.ingest)).filter((j) => j.windowId === atKill.windowId);
    const pages = Math.max(...firstWindow.map((j) => j.page)) + 1;
    expect(pages).toBeGreaterThan(pageAtKill);
    const jobsBefore = await fx.ingest.getJobCounts();
    expect(jobsBefore.failed ?? 0).toBe(0);
    const requestsAfterKillForWindow = pages - pageAtKill;
    const statsNow = await simStats(fx.sim);
    // Later live windows add a few requests (one per tick); a restart from page 0 would add `pageAtKill` more.
    expect(statsNow.logsRequests - requestsAtKill).toBeLessThan(requestsAfterKillForWindow + pageAtKill);
  }, 120_000);
});
