import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ROOT } from '../helpers/procs.js';

/**
 * The short chaos profile, in every `make test`: real processes, kill -9s, an Elasticsearch kill and a
 * Redis restart, on dedicated services. `npm run test:chaos -- --profile full` runs the long one.
 */
describe('chaos (short profile)', () => {
  it('loses nothing, duplicates nothing and never ignores Retry-After while processes are killed', () => {
    const res = spawnSync(process.execPath, [resolve(ROOT, 'dist', 'test', 'chaos', 'run-chaos.js'), '--profile', 'short', '--seed', '4242'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 9 * 60_000,
      env: { ...process.env },
    });
    process.stderr.write(res.stderr.split('\n').slice(-40).join('\n'));
    const line = res.stdout.trim().split('\n').pop() ?? '';
    process.stdout.write(`${line}\n`);
    expect(line).toMatch(/^lost=\d+ duplicated=\d+ retry_after_ignored=\d+ kills=\d+ es_restarts=\d+ redis_restarts=\d+ events=\d+$/);
    const fields: Record<string, number> = Object.fromEntries(line.split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k ?? '', Number(v)]));
    expect(fields.lost).toBe(0);
    expect(fields.duplicated).toBe(0);
    expect(fields.retry_after_ignored).toBe(0);
    expect(fields.kills).toBeGreaterThan(3);
    expect(fields.es_restarts).toBe(1);
    expect(fields.redis_restarts).toBe(1);
    expect(fields.events).toBeGreaterThan(3000);
    expect(res.status).toBe(0);
  }, 10 * 60_000);
});
