/** A bad config fails at start with the path of the bad key (issue 2): what a user sees for common mistakes. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'sa-config-'));
let n = 0;
function file(yaml: string): string {
  const f = join(dir, `c${n++}.yaml`);
  writeFileSync(f, yaml);
  return f;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig errors name the bad key', () => {
  it('an out-of-range value inside a source', () => {
    const e = errorOf(() => loadConfig({ file: file('sources:\n  - id: acme\n    pollIntervalSeconds: 0\n'), env: {} }));
    expect(e.paths).toEqual(['sources.0.pollIntervalSeconds']);
    expect(e.message).toMatch(/sources\.0\.pollIntervalSeconds: .*>=\s*1/);
    expect(e.code).toBe('SLACK_AUDIT_CONFIG_INVALID');
  });

  it('a misspelt key (the schema is strict) names the key and where it is', () => {
    const e = errorOf(() => loadConfig({ file: file('redis:\n  urll: redis://x:6379\n'), env: {} }));
    expect(e.paths).toEqual(['redis']);
    expect(e.message).toContain('urll');
  });

  it('a wrong type and a bad enum value are both reported, each with its path', () => {
    const e = errorOf(() => loadConfig({ file: file('namespace: 5\nresponses:\n  mode: yolo\n'), env: {} }));
    expect(e.paths.sort()).toEqual(['namespace', 'responses.mode']);
    expect(e.message).toMatch(/responses\.mode: .*"dry-run"/);
  });

  it('a namespace that would make invalid index names', () => {
    const e = errorOf(() => loadConfig({ file: file('namespace: Prod-EU\n'), env: {} }));
    expect(e.paths).toEqual(['namespace']);
  });

  it('a bad env value names the env var', () => {
    const e = errorOf(() => loadConfig({ file: file(''), env: { SLACK_AUDIT_POLL_INTERVAL: 'often' } }));
    expect(e.paths).toEqual(['SLACK_AUDIT_POLL_INTERVAL']);
    expect(e.message).toContain('"often"');
    const e2 = errorOf(() => loadConfig({ file: file(''), env: { SLACK_AUDIT_RESPONSES: 'enforced' } }));
    expect(e2.paths).toEqual(['responses.mode']);
  });

  it('invalid YAML names the line', () => {
    const e = errorOf(() => loadConfig({ file: file('namespace: ok\nsources:\n  - id: a\n   bad: [\n'), env: {} }));
    expect(e.message).toMatch(/not valid YAML at line \d+/);
  });

  it('duplicate source ids name the second one', () => {
    const e = errorOf(() => loadConfig({ file: file('sources:\n  - id: acme\n  - id: acme\n'), env: {} }));
    expect(e.paths).toEqual(['sources.1.id']);
  });

  it('a missing config file is reported as such', () => {
    const e = errorOf(() => loadConfig({ file: join(dir, 'nope.yaml'), env: {} }));
    expect(e.message).toMatch(/cannot read config file .*nope\.yaml/);
  });
});
