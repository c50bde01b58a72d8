import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteSyntheticIndices, indexSynthetic } from '../../src/export/synthetic-events.js';
import { STATE_FILE } from '../../src/export/types.js';
import { createEsClient } from '../../src/sink/es-client.js';
import { ELASTICSEARCH_URL, REDIS_URL, testConfig } from '../helpers/env.js';

// The built CLI, killed with SIGKILL in the middle of an export, then resumed: the data files must equal
// those of an uninterrupted run byte for byte.
const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const COUNT = 20_000;
const START = Date.UTC(2024, 5, 1) / 1000;
const FROM = new Date(START * 1000).toISOString();
const TO = new Date((START + COUNT * 13) * 1000).toISOString();

const config = testConfig({}, 'export_cli');
const es = createEsClient(config);
const work = mkdtempSync(join(tmpdir(), 'sa-export-cli-'));
const configFile = join(work, 'config.yaml');
const env = { ...process.env, SLACK_AUDIT_CONFIG: configFile, ELASTICSEARCH_URL, REDIS_URL, LOG_LEVEL: 'warn', CI: 'true' };

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function exportArgs(out: string, extra: string[] = []): string[] {
  return ['export', '--from', FROM, '--to', TO, '--format', 'ndjson', '--out', out, '--max-file-bytes', '400000', '--page-size', '100', ...extra];
}

function dataFiles(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.startsWith('part-'))
      .sort()
      .map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]),
  );
}

beforeAll(async () => {
  // Build once (other engineers' half-written files may make tsc exit non-zero; it still emits ours).
  spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore', timeout: 300_000 });
  expect(existsSync(join(ROOT, 'dist', 'src', 'commands', 'export.js'))).toBe(true);
  writeFileSync(configFile, `namespace: ${config.namespace}\nredis:\n  prefix: ${config.redis.prefix}\nsources: []\n`);
  await indexSynthetic(es, config, COUNT, { seed: 11, startSec: START, spacingSec: 13, sourceIds: ['default'] });
}, 360_000);

afterAll(async () => {
  await deleteSyntheticIndices(es, config);
  await es.close();
  rmSync(work, { recursive: true, force: true });
});

describe('slack-audit export (built CLI)', () => {
  it('resumes after kill -9 to the same bytes as an uninterrupted export, and verify passes', async () => {
    const reference = join(work, 'reference');
    const ref = cli(exportArgs(reference));
    expect(ref.stderr).not.toContain('error');
    expect(ref.status).toBe(0);
    expect(ref.stdout).toContain(`exported ${COUNT} records`);

    const out = join(work, 'interrupted');
    const child = spawn(process.execPath, [CLI, ...exportArgs(out)], { env, stdio: 'ignore' });
    const exited = new Promise<void>((res) => child.once('exit', () => { res(); }));
    // Kill once the export has committed a few files and is somewhere in the middle.
    const statePath = join(out, STATE_FILE);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error('export never got going');
      try {
        const state = JSON.parse(readFileSync(statePath, 'utf8')) as { files: unknown[] };
        if (state.files.length >= 3) break;
      } catch {
        // not there yet, or caught mid-rename
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
    expect(existsSync(statePath)).toBe(true);

    const again = cli(exportArgs(out));
    expect(again.status).not.toBe(0);
    expect(again.stderr).toContain('--resume');

    const resumed = cli(exportArgs(out, ['--resume']));
    expect(resumed.stderr).not.toContain('error');
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toContain('resumed');
    expect(dataFiles(out)).toEqual(dataFiles(reference));
    expect(Object.keys(dataFiles(out)).length).toBeGreaterThan(5);

    const ok = cli(['export', 'verify', out]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^OK .* records/);
    expect(ok.stdout).toContain(`${COUNT} records`);

    // One flipped byte in one file: verify exits non-zero and names that file.
    const victim = Object.keys(dataFiles(out))[4] ?? '';
    const bytes = readFileSync(join(out, victim));
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0x20;
    writeFileSync(join(out, victim), bytes);
    const bad = cli(['export', 'verify', out]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('SLACK_AUDIT_EXPORT_VERIFY_FAILED');
    expect(bad.stderr).toContain(`first mismatch in ${victim}`);
  }, 300_000);

  it('exits non-zero with SLACK_AUDIT_EXPORT_INVALID for a bad range and an empty result', () => {
    const backwards = cli(['export', '--from', TO, '--to', FROM, '--out', join(work, 'bad')]);
    expect(backwards.status).not.toBe(0);
    expect(backwards.stderr).toContain('SLACK_AUDIT_EXPORT_INVALID');
    expect(backwards.stderr).toContain('bad time range');
    const garbage = cli(['export', '--from', 'yesterday', '--to', TO, '--out', join(work, 'bad2')]);
    expect(garbage.status).not.toBe(0);
    expect(garbage.stderr).toContain('not an ISO-8601');
    const empty = cli(['export', '--from', '2019-01-01', '--to', '2019-01-02', '--out', join(work, 'empty')]);
    expect(empty.status).not.toBe(0);
    expect(empty.stderr).toContain('no events match');
  });
});
