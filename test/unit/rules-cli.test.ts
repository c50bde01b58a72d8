import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { registerRules } from '../../src/commands/rules.js';

const dir = mkdtempSync(join(tmpdir(), 'rules-cli-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

async function run(...args: string[]): Promise<{ out: string; code: number | string | undefined }> {
  const chunks: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
    chunks.push(String(c));
    return true;
  });
  const program = new Command('slack-audit').option('-c, --config <file>').exitOverride();
  registerRules(program);
  await program.parseAsync(['node', 'slack-audit', '-c', '/dev/null', 'rules', ...args]);
  return { out: chunks.join(''), code: process.exitCode };
}

describe('slack-audit rules', () => {
  it('test: the whole default pack passes, a line per rule and a final tally', async () => {
    const { out, code } = await run('test');
    expect(out).toMatch(/^PASS {2}slack\.compromise\.anomaly_then_mass_download \(\d+ cases\)$/m);
    expect(out).toMatch(/^\d+ passed, 0 failed$/m);
    expect(out).not.toContain('FAIL');
    expect(code).toBeUndefined();
  });

  it('test: a failing case is reported and the exit code is non-zero', async () => {
    const file = join(dir, 'wrong.yaml');
    writeFileSync(
      file,
      `rules:
  - id: wrong
    name: n
    description: d
    severity: low
    reference: r
    type: match
    where: { field: event.action, equals: anomaly }
    tests:
      - name: expects an alert that never comes
        entries: [{ id: x1, date_create: 1767345000, action: user_login }]
        expect: { alerts: 1 }
`,
    );
    const { out, code } = await run('test', file);
    expect(out).toContain('FAIL  wrong');
    expect(out).toContain('expected 1 alert(s), got 0');
    expect(out).toMatch(/^0 passed, 1 failed$/m);
    expect(code).toBe(1);
  });

  it('validate: ok for the pack, file + key path for a broken file', async () => {
    expect((await run('validate')).out).toMatch(/rules in \d+ file\(s\) are valid/);
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'rules:\n  - id: b\n    name: n\n    description: d\n    severity: low\n    reference: r\n    type: match\n    where: { field: a, regex: "(a*)*" }\n');
    const { out, code } = await run('validate', file);
    expect(out).toContain(`${file}: rules.0.where.regex:`);
    expect(code).toBe(1);
  });
});
