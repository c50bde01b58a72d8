import { describe, expect, it } from 'vitest';
import { ACTION_TABLE, catalogActions, categorize } from '../../src/normalize/action-catalog.js';
import { toEcs } from '../../src/normalize/index.js';

/** Every action name listed in ../shared/slack-api.md §2 (families written out). */
const DOCUMENTED = [
  'anomaly custom_tos_accepted custom_tos_link_clicked guest_created guest_deactivated guest_expiration_cleared guest_expiration_set',
  'guest_expired guest_joined_workspace guest_reactivated owner_transferred permissions_assigned permissions_removed role_assigned role_removed',
  'role_change_to_admin role_change_to_guest role_change_to_owner role_change_to_user user_created user_deactivated user_reactivated',
  'user_email_updated user_username_updated user_profile_updated user_profile_deleted user_joined_workspace user_login user_login_failed',
  'user_logout user_logout_compromised user_logout_non_compliant_mobile_app_version user_force_upgrade_non_compliant_mobile_app_version',
  'user_password_reset_requested user_password_reset_slack_security user_session_invalidated user_session_reset_by_admin',
  'user_sessions_reset_by_anomaly_event_response user_session_settings_changed app_agentforce_execute_slack_action',
  'app_flows_execute_slack_action channel_can_huddle_pref_changed_from_org_level channel_email_address_created channel_email_address_deleted',
  'channel_enable_at_channel_pref_changed_from_org_level channel_enable_at_here_pref_changed_from_org_level channel_huddle_properties_updated',
  'channel_membership_limit_changed_from_org_level channel_moved channel_posting_permissions_updated',
  'channel_posting_pref_changed_from_org_level channel_renamed channel_retention_changed channel_tab_added channel_tab_removed',
  'channel_workspaces_updated dm_user_added featured_workflow_added featured_workflow_removed group_converted_to_channel guest_channel_join',
  'guest_channel_leave mpim_converted_to_private private_channel_archive private_channel_converted_to_public private_channel_created',
  'private_channel_deleted private_channel_unarchive private_message_forwarded public_channel_archive public_channel_converted_to_private',
  'public_channel_created public_channel_deleted public_channel_preview public_channel_unarchive service_owner_transferred user_channel_join',
  'user_channel_leave connect_dm_invite_accepted connect_dm_invite_generated connect_dm_invite_ignored connect_dm_invite_revoked',
  'external_shared_channel_access_upgraded external_shared_channel_connected external_shared_channel_disconnect_and_archived',
  'external_shared_channel_disconnected external_shared_channel_invite_accepted external_shared_channel_invite_approved',
  'external_shared_channel_invite_auto_revoked external_shared_channel_invite_created external_shared_channel_invite_declined',
  'external_shared_channel_invite_expired external_shared_channel_invite_revoked external_shared_channel_invite_sent',
  'external_shared_channel_reconnected file_deleted file_download_blocked file_downloaded_blocked file_downloaded',
  'file_malicious_content_detected file_public_link_created file_public_link_revoked file_shared file_uploaded app_approved app_deleted',
  'app_deployed app_installed app_manifest_created app_manifest_updated app_removed_from_whitelist app_resources_added app_resources_granted',
  'app_restricted app_scopes_expanded app_token_preserved app_uninstalled app_variable_added app_variable_removed bot_token_downgraded',
  'bot_token_upgraded org_app_future_workspace_install_disabled org_app_future_workspace_install_enabled org_app_upgraded_to_org_install',
  'org_app_workspace_added org_app_workspace_removed org_app_installed org_app_uninstalled agentforce_agent_activated',
  'agentforce_agent_deactivated agentforce_agent_actions_updated agentforce_agent_metadata_updated agentforce_agent_slack_connection_added',
  'agentforce_agent_slack_connection_removed agentforce_agent_slack_deleted app_agentforce_session_created_from_prompt_link',
  'app_agentforce_shareable_prompt_created workflow_app_token_preserved workflow_created workflow_deleted workflow_published',
  'workflow_unpublished workflow_responses_csv_download workflow_unknown_action external_auth_oauth2_token_fetched',
  'external_auth_oauth2_token_refreshed external_auth_oauth2_token_deleted workflow_trigger_permission_added',
  'workflow_trigger_permission_removed workflow_trigger_permission_set workflow_trigger_suspicious_keyword workflow_v2_published',
  'function_distribution_permission_added function_distribution_permission_removed function_distribution_permission_set approved_orgs_added',
  'approved_orgs_removed barrier_created barrier_updated barrier_deleted billing_address_added channels_export_started',
  'channels_export_completed channels_export_downloaded channels_export_deleted cli_login cli_logout cli_app_deploy corporate_exports_approved',
  'corporate_exports_enabled domain_created domain_verified domain_deleted emoji_added emoji_aliased emoji_removed emoji_renamed',
  'idp_configuration_added idp_configuration_deleted idp_prod_configuration_updated idp_test_configuration_updated manual_export_started',
  'manual_export_completed manual_export_downloaded manual_export_deleted manual_user_export_started manual_user_export_completed',
  'manual_user_export_downloaded manual_user_export_deleted scheduled_export_started scheduled_export_completed scheduled_export_downloaded',
  'scheduled_export_deleted message_flagged message_moderated message_restored message_tombstoned migration_scheduled migration_completed',
  'migration_dms_mpdms_completed organization_created organization_deleted organization_renamed organization_domain_changed',
  'organization_public_url_updated organization_verified organization_unverified organization_accepted_migration',
  'organization_declined_migration team_authorized_ip_range_set team_unsupported_versions_job_start team_unsupported_versions_job_end',
  'team_unsupported_versions_start_success team_unsupported_versions_start_failure thread_replies_enabled thread_replies_disabled',
  'workspace_created workspace_deleted workspace_accepted_migration workspace_declined_migration flexible_access_control_set',
  'audit_logs_records_searched audit_logs_export_csv_started audit_logs_export_json_started auth_policy_created auth_policy_entity_assigned',
  'auth_policy_entity_removed bulk_session_reset_by_admin intune_enabled intune_disabled pref.sso_setting_changed pref.two_factor_auth_changed',
  'pref.two_factor_prevent_sms_changed pref.session_duration_changed pref.session_duration_type_changed pref.mobile_session_duration_changed',
  'pref.anomaly_event_response_changed pref.app_whitelist_enabled pref.app_dir_only pref.block_file_download_for_unapproved_ip',
  'pref.block_download_and_copy_on_untrusted_mobile pref.disallow_public_file_urls pref.sign_in_with_slack_disabled pref.invites_only_admins',
  'pref.retention_override_changed pref.allow_calls pref.allow_message_deletion pref.msg_edit_window_mins pref.custom_tos',
  'pref.can_receive_shared_channels_invites pref.enterprise_default_channels pref.enterprise_mobile_device_check',
  'pref.enterprise_team_creation_request pref.emoji_only_admins pref.stats_only_admins pref.dnd_enabled pref.dnd_start_hour pref.dnd_end_hour',
  'pref.username_policy pref.uneditable_user_profile_fields pref.ml_opt_out pref.member_analytics_disabled',
  'pref.private_channel_analytics_disabled pref.allow_slack_ai_changed pre.max_guest_duration pref.ext_audit_log_retention_type_changed',
  'pref.ext_audit_log_retention_duration_changed pref.dlp_access_changed prefs_setting_changed canvas_downloaded canvas_linksharing_enabled',
  'canvas_shared list_downloaded native_dlp_rule_action_applied native_dlp_rule_created native_dlp_rule_deactivated native_dlp_rule_reactivated',
  'native_dlp_violation_deleted user_added_to_usergroup role_added_to_usergroup pref.public_channel_retention_changed',
  'pref.private_channel_retention_changed pref.dm_channel_retention_changed pref.file_channel_retention_changed',
  'pref.canvas_channel_retention_changed pref.record_channel_retention_changed pref.who_can_archive_channels',
  'pref.who_can_create_public_channels pref.who_can_create_private_channels pref.who_can_create_delete_user_groups',
  'pref.who_can_edit_user_groups pref.who_can_manage_guests pref.who_can_manage_shared_channels pref.who_can_manage_ext_shared_channels',
  'pref.who_can_manage_channel_posting_prefs pref.who_can_remove_from_private_channels pref.who_can_dm_anyone slack_connect_guidelines_changed',
  'slack_connect_invite_routing_enabled slack_connect_invite_routing_disabled slack_connect_pref_set slack_connect_pref_removed',
  'slack_connect_pref_migrated huddle_started huddle_ended',
]
  .join(' ')
  .split(' ');

// ECS 8.11 allowed values (https://www.elastic.co/guide/en/ecs/8.11/ecs-allowed-values-event-category.html).
const ECS_CATEGORIES = new Set(['api', 'authentication', 'configuration', 'database', 'driver', 'email', 'file', 'host', 'iam', 'intrusion_detection', 'library', 'malware', 'network', 'package', 'process', 'registry', 'session', 'threat', 'vulnerability', 'web']);
const ECS_TYPES = new Set(['access', 'admin', 'allowed', 'change', 'connection', 'creation', 'deletion', 'denied', 'end', 'error', 'group', 'indicator', 'info', 'installation', 'protocol', 'start', 'user']);

describe('action catalog', () => {
  it('categorizes every documented action from the table (never an empty category)', () => {
    const missing = DOCUMENTED.filter((a) => !categorize(a).known);
    expect(missing).toEqual([]);
    for (const action of DOCUMENTED) {
      const c = categorize(action);
      expect(c.category.length, action).toBeGreaterThan(0);
      expect(c.type.length, action).toBeGreaterThan(0);
    }
    expect(DOCUMENTED.length).toBeGreaterThan(280);
  });

  it('uses only ECS allowed values, one row per action', () => {
    for (const action of catalogActions()) {
      const c = categorize(action);
      for (const cat of c.category) expect(ECS_CATEGORIES.has(cat), `${action}: ${cat}`).toBe(true);
      for (const type of c.type) expect(ECS_TYPES.has(type), `${action}: ${type}`).toBe(true);
      expect(['success', 'failure', 'unknown']).toContain(c.outcome);
    }
    const names = ACTION_TABLE.flatMap(([spec]) => spec.split(/\s+/));
    expect(new Set(names).size).toBe(names.length);
  });

  it('keeps the security-relevant categorizations analysts search for', () => {
    expect(categorize('user_login_failed')).toMatchObject({ category: ['authentication'], outcome: 'failure' });
    expect(categorize('user_session_reset_by_admin')).toMatchObject({ category: ['authentication', 'session'], type: ['info', 'end'] });
    expect(categorize('role_change_to_admin').type).toContain('admin');
    expect(categorize('app_installed').type).toContain('installation');
    expect(categorize('file_downloaded_blocked')).toMatchObject({ category: ['file'], type: ['denied'], outcome: 'failure' });
    expect(categorize('file_download_blocked')).toEqual(categorize('file_downloaded_blocked'));
    expect(categorize('anomaly').category).toContain('intrusion_detection');
  });

  it('falls back by prefix (and verb suffix) for actions Slack adds later', () => {
    expect(categorize('pref.brand_new_setting')).toMatchObject({ category: ['configuration'], type: ['change'], known: false });
    expect(categorize('file_teleported')).toMatchObject({ category: ['file'], known: false });
    expect(categorize('usergroup_archived').category).toEqual(['iam']);
    expect(categorize('channel_something_deleted').type).toEqual(['deletion']);
    expect(categorize('user_login_mfa_failed')).toMatchObject({ category: ['authentication'], outcome: 'failure' });
    expect(categorize('huddle_transcription_started').category.length).toBeGreaterThan(0);
    const unknown = categorize('zz_totally_new');
    expect(unknown).toMatchObject({ category: [], type: ['info'], outcome: 'unknown', known: false });
  });

  it('an unknown action still normalizes, without an empty event.category array', () => {
    const r = toEcs({ id: 'x1', date_create: 1700000000, action: 'zz_totally_new' }, { sourceId: 's', keepOriginal: false });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.doc.event.category).toBeUndefined();
    expect(r.doc.event.type).toEqual(['info']);
    expect(r.doc.event.action).toBe('zz_totally_new');
  });
});
