import { describe, expect, it } from 'vitest';
import { toEcs } from '../../src/normalize/index.js';
import { DEFAULT_RULES_DIR, loadRuleFiles } from '../../src/rules/load.js';
import { runRuleTests } from '../../src/rules/rule-tests.js';

describe('default rule pack', () => {
  const loaded = loadRuleFiles([DEFAULT_RULES_DIR]);

  it('validates', () => {
    expect(loaded.issues).toEqual([]);
    expect(loaded.rules.length).toBeGreaterThanOrEqual(30);
  });

  it('every rule carries test cases, with at least one alerting and one quiet case', () => {
    for (const { rule } of loaded.rules) {
      expect(rule.tests.length, rule.id).toBeGreaterThanOrEqual(2);
      expect(rule.tests.some((t) => t.expect.alerts > 0), rule.id).toBe(true);
      expect(rule.tests.some((t) => t.expect.alerts === 0), rule.id).toBe(true);
    }
  });

  it('maps every Slack-behaviour rule to MITRE ATT&CK', () => {
    for (const { rule } of loaded.rules) expect(rule.threat.length, rule.id).toBeGreaterThan(0);
  });

  it('covers the detections the issue lists', () => {
    const actions = JSON.stringify(loaded.rules.map((r) => r.rule));
    for (const a of [
      'app_installed', 'app_uninstalled', 'app_scopes_expanded', 'native_dlp_violation_deleted', 'ekm_', 'idp_configuration_added',
      'pref.sso_setting_changed', 'pref.two_factor_auth_changed', 'barrier_deleted', 'intune_disabled', 'legal_hold_policy_released',
      'organization_created', 'organization_deleted', 'private_channel_converted_to_public', 'file_malicious_content_detected',
      'role_change_to_admin', 'role_change_to_owner', 'owner_transferred', 'user_session_reset_by_admin', 'session_fingerprint', 'tor',
      'unexpected_client', 'source.geo.country_iso_code', 'source.as.number', 'file_downloaded', 'manual_export_started',
      'audit_logs_export_csv_started', 'collection_stall',
    ]) expect(actions, a).toContain(a);
    const seq = loaded.rules.find((r) => r.rule.type === 'sequence');
    expect(seq?.rule.actions.map((a) => a.type)).toContain('session_reset');
  });

  it('passes its own test cases (what `slack-audit rules test` runs)', async () => {
    const results = await runRuleTests(loaded.files, toEcs);
    const failures = results.flatMap((r) => r.cases.filter((c) => !c.passed).map((c) => `${r.ruleId}: ${c.name}: ${c.message ?? ''}`));
    expect(failures).toEqual([]);
    expect(results.reduce((n, r) => n + r.cases.length, 0)).toBeGreaterThan(70);
  });
});
