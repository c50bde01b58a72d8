/**
 * ECS categorization (event.category / event.type / event.outcome) of every Slack audit action, in ONE table.
 *
 * Sources: Slack's methods-and-actions reference and Java SDK `Actions` (../shared/slack-api.md §2). Where
 * Elastic's Slack integration categorizes an action, we use the same values (it only covers ~40 actions;
 * see ../shared/conformance/elastic-slack-audit.md). Values are from ECS's allowed lists, except
 * `denied` on file events, kept because Elastic's integration uses it for file_downloaded_blocked.
 *
 * Row syntax: several action names separated by spaces; `{a,b,c}` expands to one name per alternative.
 * Slack adds actions without notice, so `categorize()` falls back on the action's prefix/suffix.
 */
export type EcsCategory =
  | 'api'
  | 'authentication'
  | 'configuration'
  | 'database'
  | 'file'
  | 'iam'
  | 'intrusion_detection'
  | 'malware'
  | 'network'
  | 'package'
  | 'session'
  | 'threat'
  | 'web';
export type EcsType =
  | 'access'
  | 'admin'
  | 'allowed'
  | 'change'
  | 'creation'
  | 'deletion'
  | 'denied'
  | 'end'
  | 'group'
  | 'indicator'
  | 'info'
  | 'installation'
  | 'start'
  | 'user';
export type EcsOutcome = 'success' | 'failure' | 'unknown';

export interface Categorization {
  category: EcsCategory[];
  type: EcsType[];
  outcome: EcsOutcome;
  /** true when the action is in the table, false when the fallback guessed. */
  known: boolean;
}

type Row = readonly [actions: string, category: readonly EcsCategory[], type: readonly EcsType[], outcome?: EcsOutcome];

const AUTH_SESSION: readonly EcsCategory[] = ['authentication', 'session'];
const IAM: readonly EcsCategory[] = ['iam'];
const CONF: readonly EcsCategory[] = ['configuration'];
const IAM_CONF: readonly EcsCategory[] = ['iam', 'configuration'];
const FILE: readonly EcsCategory[] = ['file'];
const APP: readonly EcsCategory[] = ['package', 'configuration'];

// prettier-ignore
export const ACTION_TABLE: readonly Row[] = [
  // ── User: authentication and sessions
  ['user_login', AUTH_SESSION, ['info', 'start'], 'success'],
  ['user_login_failed', ['authentication'], ['info'], 'failure'],
  ['user_logout user_session_invalidated user_session_reset_by_admin user_sessions_reset_by_anomaly_event_response', AUTH_SESSION, ['info', 'end'], 'success'],
  ['user_logout_compromised user_logout_non_compliant_mobile_app_version bulk_session_reset_by_admin', AUTH_SESSION, ['info', 'end'], 'success'],
  ['user_force_upgrade_non_compliant_mobile_app_version', ['session', 'configuration'], ['info'], 'success'],
  ['user_session_settings_changed', IAM_CONF, ['change', 'user'], 'success'],
  ['cli_login', AUTH_SESSION, ['info', 'start'], 'success'],
  ['cli_logout', AUTH_SESSION, ['info', 'end'], 'success'],
  // ── Slack's own detection: anomaly is an intrusion-detection finding about the affected user or app.
  ['anomaly', ['intrusion_detection', 'threat'], ['info', 'indicator'], 'unknown'],
  // ── User: identity and access management
  ['user_created guest_created', IAM, ['creation', 'user'], 'success'],
  ['user_deactivated guest_deactivated guest_expired user_profile_deleted', IAM, ['deletion', 'user'], 'success'],
  ['user_reactivated guest_reactivated guest_expiration_set guest_expiration_cleared', IAM, ['change', 'user'], 'success'],
  ['user_joined_workspace guest_joined_workspace', IAM, ['change', 'user', 'group'], 'success'],
  ['user_email_updated user_username_updated user_profile_updated role_change_to_guest role_change_to_user', IAM, ['change', 'user'], 'success'],
  ['role_change_to_admin role_change_to_owner owner_transferred service_owner_transferred', IAM, ['change', 'user', 'admin'], 'success'],
  ['permissions_assigned permissions_removed role_assigned role_removed', IAM, ['change', 'user', 'admin'], 'success'],
  ['user_password_reset_requested user_password_reset_slack_security', IAM, ['change', 'user'], 'success'],
  ['custom_tos_accepted custom_tos_link_clicked', IAM, ['info', 'user'], 'success'],
  ['app_agentforce_execute_slack_action app_flows_execute_slack_action', ['api'], ['access'], 'success'],
  // ── User groups (Elastic's values)
  ['user_added_to_usergroup user_removed_from_usergroup', IAM, ['change', 'group', 'user'], 'success'],
  ['role_added_to_usergroup role_removed_from_usergroup role_modified_on_usergroup', IAM, ['change', 'group'], 'success'],
  ['default_channel_added_to_usergroup default_channel_removed_from_usergroup', IAM_CONF, ['change', 'group'], 'success'],
  ['usergroup_created', IAM, ['creation', 'group'], 'success'],
  ['usergroup_deleted usergroup_disabled', IAM, ['deletion', 'group'], 'success'],
  ['usergroup_updated usergroup_enabled usergroup_renamed', IAM, ['change', 'group'], 'success'],
  // ── Channels
  ['public_channel_created private_channel_created channel_email_address_created', CONF, ['creation'], 'success'],
  ['public_channel_deleted private_channel_deleted channel_email_address_deleted', CONF, ['deletion'], 'success'],
  ['public_channel_archive private_channel_archive public_channel_unarchive private_channel_unarchive', CONF, ['change'], 'success'],
  ['private_channel_converted_to_public public_channel_converted_to_private group_converted_to_channel mpim_converted_to_private', CONF, ['change'], 'success'],
  ['channel_renamed channel_moved channel_retention_changed channel_workspaces_updated channel_posting_permissions_updated channel_huddle_properties_updated', CONF, ['change'], 'success'],
  ['channel_{can_huddle,enable_at_channel,enable_at_here,posting}_pref_changed_from_org_level channel_membership_limit_changed_from_org_level', CONF, ['change'], 'success'],
  ['channel_tab_added channel_tab_removed featured_workflow_added featured_workflow_removed', CONF, ['change'], 'success'],
  ['public_channel_preview', CONF, ['access'], 'success'],
  ['user_channel_join user_channel_leave guest_channel_join guest_channel_leave dm_user_added', IAM, ['change', 'group', 'user'], 'success'],
  ['private_message_forwarded', ['web'], ['info'], 'success'],
  // ── Shared channels / Slack Connect
  ['connect_dm_invite_generated external_shared_channel_invite_created external_shared_channel_invite_sent', CONF, ['creation'], 'success'],
  ['connect_dm_invite_accepted external_shared_channel_invite_{accepted,approved}', CONF, ['change', 'allowed'], 'success'],
  ['connect_dm_invite_{ignored,revoked} external_shared_channel_invite_{auto_revoked,declined,expired,revoked}', CONF, ['change', 'denied'], 'success'],
  ['external_shared_channel_{access_upgraded,connected,reconnected}', CONF, ['change'], 'success'],
  ['external_shared_channel_{disconnect_and_archived,disconnected}', CONF, ['change', 'deletion'], 'success'],
  // ── Files, canvases, lists
  ['file_downloaded canvas_downloaded list_downloaded', FILE, ['access'], 'success'],
  ['file_download_blocked file_downloaded_blocked', FILE, ['denied'], 'failure'],
  ['file_uploaded canvas_created list_created', FILE, ['creation'], 'success'],
  ['file_deleted canvas_deleted list_deleted', FILE, ['deletion'], 'success'],
  ['file_public_link_created file_public_link_revoked file_shared canvas_shared', FILE, ['info'], 'success'],
  ['canvas_linksharing_enabled canvas_linksharing_disabled', FILE, ['change'], 'success'],
  ['file_malicious_content_detected', ['file', 'malware'], ['info'], 'success'],
  // ── Apps and bots
  ['app_installed org_app_installed org_app_upgraded_to_org_install org_app_workspace_added app_deployed cli_app_deploy', APP, ['installation', 'creation'], 'success'],
  ['app_uninstalled org_app_uninstalled org_app_workspace_removed app_deleted', APP, ['deletion'], 'success'],
  ['app_approved', CONF, ['change', 'allowed'], 'success'],
  ['app_restricted app_removed_from_whitelist', CONF, ['change', 'denied'], 'success'],
  ['app_scopes_expanded app_resources_added app_resources_granted', IAM_CONF, ['change'], 'success'],
  ['app_token_preserved bot_token_downgraded bot_token_upgraded workflow_app_token_preserved', IAM, ['change'], 'success'],
  ['app_manifest_created app_variable_added', CONF, ['creation'], 'success'],
  ['app_manifest_updated app_variable_removed org_app_future_workspace_install_{disabled,enabled}', CONF, ['change'], 'success'],
  ['agentforce_agent_{activated,deactivated,actions_updated,metadata_updated,slack_connection_added,slack_connection_removed}', CONF, ['change'], 'success'],
  ['agentforce_agent_slack_deleted', CONF, ['deletion'], 'success'],
  ['app_agentforce_session_created_from_prompt_link', ['api'], ['access'], 'success'],
  ['app_agentforce_shareable_prompt_created', CONF, ['creation'], 'success'],
  // ── Workflows and functions
  ['workflow_created', CONF, ['creation'], 'success'],
  ['workflow_deleted', CONF, ['deletion'], 'success'],
  ['workflow_published workflow_unpublished workflow_v2_published workflow_trigger_permission_{added,removed,set}', CONF, ['change'], 'success'],
  ['workflow_responses_csv_download', FILE, ['access'], 'success'],
  ['workflow_unknown_action', CONF, ['info'], 'unknown'],
  ['workflow_trigger_suspicious_keyword', ['intrusion_detection'], ['info'], 'success'],
  ['external_auth_oauth2_token_fetched external_auth_oauth2_token_refreshed', ['authentication'], ['info'], 'success'],
  ['external_auth_oauth2_token_deleted', IAM, ['deletion'], 'success'],
  ['function_distribution_permission_{added,removed,set}', IAM, ['change'], 'success'],
  // ── Workspace / org
  ['approved_orgs_added approved_orgs_removed', CONF, ['change'], 'success'],
  ['barrier_created', IAM_CONF, ['creation', 'group'], 'success'],
  ['barrier_updated', IAM_CONF, ['change', 'group'], 'success'],
  ['barrier_deleted', IAM_CONF, ['deletion', 'group'], 'success'],
  ['billing_address_added', CONF, ['creation'], 'success'],
  ['{channels,manual,manual_user,scheduled}_export_{started,completed}', ['file', 'database'], ['access'], 'success'],
  ['{channels,manual,manual_user,scheduled}_export_downloaded', FILE, ['access'], 'success'],
  ['{channels,manual,manual_user,scheduled}_export_deleted', FILE, ['deletion'], 'success'],
  ['corporate_exports_approved corporate_exports_enabled', CONF, ['change'], 'success'],
  ['domain_created domain_verified', CONF, ['creation'], 'success'],
  ['domain_deleted', CONF, ['deletion'], 'success'],
  ['emoji_added emoji_aliased', CONF, ['creation'], 'success'],
  ['emoji_removed', CONF, ['deletion'], 'success'],
  ['emoji_renamed', CONF, ['change'], 'success'],
  ['idp_configuration_added', IAM_CONF, ['creation'], 'success'],
  ['idp_configuration_deleted', IAM_CONF, ['deletion'], 'success'],
  ['idp_prod_configuration_updated idp_test_configuration_updated', IAM_CONF, ['change'], 'success'],
  ['message_flagged message_moderated message_restored message_tombstoned', ['web'], ['info'], 'success'],
  ['migration_scheduled migration_completed migration_dms_mpdms_completed', CONF, ['change'], 'success'],
  ['organization_created workspace_created', CONF, ['creation'], 'success'],
  ['organization_deleted workspace_deleted', CONF, ['deletion'], 'success'],
  ['organization_{renamed,domain_changed,public_url_updated,verified,unverified,accepted_migration,declined_migration}', CONF, ['change'], 'success'],
  ['workspace_accepted_migration workspace_declined_migration thread_replies_enabled thread_replies_disabled', CONF, ['change'], 'success'],
  ['team_authorized_ip_range_set', ['configuration', 'network'], ['change'], 'success'],
  ['team_unsupported_versions_{job_start,job_end,start_success}', CONF, ['info'], 'success'],
  ['team_unsupported_versions_start_failure', CONF, ['info'], 'failure'],
  ['flexible_access_control_set', IAM_CONF, ['change'], 'success'],
  ['audit_logs_records_searched', ['database'], ['access'], 'success'],
  ['audit_logs_export_csv_started audit_logs_export_json_started', ['database', 'file'], ['access'], 'success'],
  // ── Workspace / org preferences and policies
  ['auth_policy_created', IAM_CONF, ['creation'], 'success'],
  ['auth_policy_entity_assigned auth_policy_entity_removed', IAM_CONF, ['change'], 'success'],
  ['intune_enabled intune_disabled prefs_setting_changed', CONF, ['change'], 'success'],
  ['pref.{sso_setting_changed,two_factor_auth_changed,two_factor_prevent_sms_changed,session_duration_changed,session_duration_type_changed,mobile_session_duration_changed,sign_in_with_slack_disabled,invites_only_admins}', IAM_CONF, ['change'], 'success'],
  ['pref.{anomaly_event_response_changed,app_whitelist_enabled,app_dir_only,block_file_download_for_unapproved_ip,block_download_and_copy_on_untrusted_mobile,disallow_public_file_urls}', CONF, ['change'], 'success'],
  ['pref.{public,private,dm,file,canvas,record}_channel_retention_changed pref.retention_override_changed', CONF, ['change'], 'success'],
  ['pref.who_can_{archive_channels,create_public_channels,create_private_channels,create_delete_user_groups,edit_user_groups,manage_guests,manage_shared_channels,manage_ext_shared_channels,manage_channel_posting_prefs,remove_from_private_channels,dm_anyone}', IAM_CONF, ['change'], 'success'],
  ['pref.{allow_calls,allow_message_deletion,msg_edit_window_mins,custom_tos,can_receive_shared_channels_invites,enterprise_default_channels,enterprise_mobile_device_check,enterprise_team_creation_request}', CONF, ['change'], 'success'],
  ['pref.{emoji_only_admins,stats_only_admins,dnd_enabled,dnd_start_hour,dnd_end_hour,username_policy,uneditable_user_profile_fields,ml_opt_out,member_analytics_disabled,private_channel_analytics_disabled}', CONF, ['change'], 'success'],
  ['pref.{allow_slack_ai_changed,ext_audit_log_retention_type_changed,ext_audit_log_retention_duration_changed,dlp_access_changed} pre.max_guest_duration', CONF, ['change'], 'success'],
  ['slack_connect_{guidelines_changed,invite_routing_enabled,invite_routing_disabled,pref_set,pref_removed,pref_migrated}', CONF, ['change'], 'success'],
  // ── Huddles, AI, EKM, legal holds, DLP, Salesforce, MCP
  ['huddle_started', ['session'], ['start'], 'success'],
  ['huddle_ended', ['session'], ['end'], 'success'],
  ['huddle_{participant_joined,participant_left,participant_added,participant_removed,screenshare_on,screenshare_off,knock_accepted}', ['session'], ['info'], 'success'],
  ['native_dlp_rule_action_applied', ['intrusion_detection'], ['info', 'denied'], 'success'],
  ['native_dlp_rule_created', CONF, ['creation'], 'success'],
  ['native_dlp_rule_deactivated native_dlp_rule_reactivated', CONF, ['change'], 'success'],
  ['native_dlp_violation_deleted', CONF, ['deletion'], 'success'],
  ['legal_hold_policy_created', CONF, ['creation'], 'success'],
  ['legal_hold_policy_{updated,released,entities_added,entities_removed}', CONF, ['change'], 'success'],
  ['mcp_slack_{read,search,send}_tool_called', ['api'], ['access'], 'success'],
];

/** Prefix fallbacks for actions Slack has not documented (or added since): first match wins. */
// prettier-ignore
const PREFIX_FALLBACK: readonly (readonly [prefix: string, category: readonly EcsCategory[], type: readonly EcsType[]])[] = [
  ['pref.', CONF, ['change']],
  ['pre.', CONF, ['change']],
  ['prefs_', CONF, ['change']],
  ['user_login', ['authentication'], ['info']],
  ['user_logout', AUTH_SESSION, ['end']],
  ['user_session', AUTH_SESSION, ['info']],
  ['anomaly', ['intrusion_detection'], ['info']],
  ['file_', FILE, ['info']],
  ['canvas_', FILE, ['info']],
  ['list_', FILE, ['info']],
  ['huddle_', ['session'], ['info']],
  ['mcp_', ['api'], ['access']],
  ['app_', CONF, ['change']],
  ['org_app_', CONF, ['change']],
  ['bot_', IAM, ['change']],
  ['agentforce_', CONF, ['change']],
  ['workflow_', CONF, ['change']],
  ['function_', CONF, ['change']],
  ['external_auth_', ['authentication'], ['info']],
  ['external_shared_channel_', CONF, ['change']],
  ['connect_dm_', CONF, ['change']],
  ['channel_', CONF, ['change']],
  ['public_channel_', CONF, ['change']],
  ['private_channel_', CONF, ['change']],
  ['usergroup_', IAM, ['change', 'group']],
  ['role_', IAM, ['change', 'user']],
  ['permissions_', IAM, ['change', 'user']],
  ['guest_', IAM, ['change', 'user']],
  ['user_', IAM, ['change', 'user']],
  ['idp_', IAM_CONF, ['change']],
  ['auth_policy_', IAM_CONF, ['change']],
  ['barrier_', IAM_CONF, ['change']],
  ['native_dlp_', CONF, ['change']],
  ['legal_hold_', CONF, ['change']],
  ['ekm_', CONF, ['change']],
  ['slack_ai_', CONF, ['change']],
  ['huddle_transcription_', CONF, ['change']],
  ['sales_elevate_', CONF, ['change']],
  ['salesforce_', CONF, ['change']],
  ['slack_connect_', CONF, ['change']],
  ['organization_', CONF, ['change']],
  ['workspace_', CONF, ['change']],
  ['team_', CONF, ['change']],
  // The older dotted spelling `team.unsupportedVersions.*` (Java SDK only).
  ['team.', CONF, ['info']],
  ['domain_', CONF, ['change']],
  ['emoji_', CONF, ['change']],
  ['message_', ['web'], ['info']],
  ['migration_', CONF, ['change']],
  ['audit_logs_', ['database'], ['access']],
  ['cli_', ['authentication'], ['info']],
];

/** Expand `a_{x,y}_b c` into `a_x_b a_y_b c` (one brace group per word is enough for our table). */
export function expandActions(spec: string): string[] {
  const out: string[] = [];
  for (const word of spec.split(/\s+/).filter(Boolean)) {
    const m = /^(.*?)\{([^}]*)\}(.*)$/.exec(word);
    if (!m) {
      out.push(word);
      continue;
    }
    const [, head = '', alts = '', tail = ''] = m;
    for (const alt of alts.split(',')) out.push(...expandActions(`${head}${alt}${tail}`));
  }
  return out;
}

const CATALOG: ReadonlyMap<string, Readonly<Categorization>> = (() => {
  const map = new Map<string, Categorization>();
  for (const [spec, category, type, outcome] of ACTION_TABLE) {
    for (const action of expandActions(spec)) {
      map.set(action, { category: [...category], type: [...type], outcome: outcome ?? 'success', known: true });
    }
  }
  return map;
})();

/** Every action name in the table (tests and docs). */
export function catalogActions(): string[] {
  return [...CATALOG.keys()];
}

function suffixType(action: string): EcsType | undefined {
  if (/_(created|added|uploaded|generated|installed)$/.test(action)) return 'creation';
  if (/_(deleted|removed|uninstalled|revoked)$/.test(action)) return 'deletion';
  if (/_(blocked|denied|restricted)$/.test(action)) return 'denied';
  if (/_(downloaded|download|viewed|searched)$/.test(action)) return 'access';
  return undefined;
}

/**
 * Categorize an action. Known actions come straight from the table; unknown ones get a prefix-based guess
 * (with the verb suffix refining event.type). A totally unknown action still gets `event.type: [info]`.
 */
export function categorize(action: string): Categorization {
  const known = CATALOG.get(action);
  if (known) return { category: [...known.category], type: [...known.type], outcome: known.outcome, known: true };
  const outcome: EcsOutcome = /_(failed|failure|blocked|denied)$/.test(action) ? 'failure' : 'unknown';
  const fb = PREFIX_FALLBACK.find(([prefix]) => action.startsWith(prefix));
  if (!fb) return { category: [], type: ['info'], outcome, known: false };
  const suffix = suffixType(action);
  const type: EcsType[] = suffix ? [suffix] : [...fb[2]];
  return { category: [...fb[1]], type, outcome, known: false };
}
