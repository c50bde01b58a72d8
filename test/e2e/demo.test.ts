import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { CLI, ROOT } from '../helpers/procs.js';
import { uniqueNamespace, ELASTICSEARCH_URL, REDIS_URL } from '../helpers/env.js';
import { createEsClient } from '../../src/sink/es-client.js';
import { loadConfig } from '../../src/config/load.js';
import type { DemoSummary } from '../../src/demo/summary.js';
import { PRIMARY_OWNER_ID, PROTECTED_ADMIN_ID, VICTIM_USER_ID } from '../../src/sim/story.js';

describe('slack-audit demo', () => {
  it('prints a summary that matches Elasticsearch: counts, the victim alert and reset, the protected user skipped', () => {
    const ns = uniqueNamespace('demo');
    const dir = mkdtempSync(join(tmpdir(), 'sa-demo-'));
    const jsonFile = join(dir, 'summary.json');
    const res = spawnSync(process.execPath, [CLI, 'demo', '--duration', '45', '--namespace', ns, '--events', '1500', '--no-services', '--json-summary', jsonFile], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 180_000,
      env: { ...process.env, REDIS_URL, ELASTICSEARCH_URL, CI: 'true' },
    });
    expect(res.status, res.stderr.slice(-2000)).toBe(0);
    const summary = JSON.parse(readFileSync(jsonFile, 'utf8')) as DemoSummary;
    const out = res.stdout;
    expect(out).toContain('events per action');
    expect(out).toContain('how to point this at your real Slack org');
    expect(out).toMatch(/curl -s '.*logs-slack\.audit-/);
    return checkAgainstEs(ns, summary, out);
  }, 240_000);
});

async function checkAgainstEs(ns: string, summary: DemoSummary, out: string): Promise<void> {
  const config = loadConfig({ file: '/dev/null', env: { ELASTICSEARCH_URL, ...(process.env.ELASTICSEARCH_API_KEY ? { ELASTICSEARCH_API_KEY: process.env.ELASTICSEARCH_API_KEY } : {}), ...(process.env.ELASTICSEARCH_CA_FILE ? { ELASTICSEARCH_CA_FILE: process.env.ELASTICSEARCH_CA_FILE } : {}) }, overrides: { namespace: ns } });
  const es: Client = createEsClient(config);
  try {
    const count = (await es.count({ index: `logs-slack.audit-${ns}` })).count;
    expect(summary.events.total).toBe(count);
    expect(out).toContain(`events indexed: ${count}`);
    const perAction = summary.events.byAction.reduce((n, b) => n + b.count, 0);
    expect(perAction).toBe(count);
    const alerts = (await es.count({ index: `slack-audit-alerts-${ns}` })).count;
    expect(summary.alerts.length).toBe(alerts);

    const victimAlert = summary.alerts.find((a) => a.user === VICTIM_USER_ID && /followed by mass download/i.test(a.rule));
    expect(victimAlert).toBeDefined();
    expect(victimAlert?.eventIds.length).toBeGreaterThan(50);
    const byUser = new Map(summary.actions.map((a) => [a.user, a]));
    expect(byUser.get(VICTIM_USER_ID)?.outcome).toBe('executed');
    expect(byUser.get(PROTECTED_ADMIN_ID)?.outcome).toBe('skipped_protected');
    expect(byUser.get(PRIMARY_OWNER_ID)?.outcome).toBe('failed');
    expect(summary.actions.filter((a) => a.user === VICTIM_USER_ID && a.outcome === 'executed')).toHaveLength(1);
    expect(summary.simulator?.retryAfterIgnored).toBe(0);
    expect(out).toContain(`session_reset ${VICTIM_USER_ID} → executed`);
    expect(out).toContain(`session_reset ${PROTECTED_ADMIN_ID} → skipped_protected`);
  } finally {
    await es.indices.delete({ index: `logs-slack.audit-${ns}-*,slack-audit-*-${ns}`, ignore_unavailable: true, allow_no_indices: true });
    await es.close();
  }
}
