import type { RawEntry } from '../slack/entry.js';
import { Prng } from './prng.js';
import {
  ADMIN_ACTOR_ID,
  ATTACK_STORY,
  BOT_USER_ID,
  ENTERPRISE_ID,
  OWN_APP_ID,
  PRIMARY_OWNER_ID,
  PROTECTED_ADMIN_ID,
  STORY_ANOMALY_REASONS,
  STORY_TOR_IP,
  VICTIM_USER_ID,
} from './story.js';

/**
 * A synthetic Enterprise Grid org and its audit activity, deterministic from a seed. Shapes follow
 * ../shared/slack-api.md §1.6 and §2.2, including the odd-but-valid ones a normaliser must survive:
 * empty ip_address, IPv6, context.app null, numeric/string/null session_id, details.reason string vs
 * array, polymorphic details values, unknown actions and entity types, µs vs ms action_timestamp.
 */

export interface Place {
  id: string;
  name: string;
  domain: string;
}

export type OrgRole = 'member' | 'admin' | 'owner' | 'primary_owner' | 'guest' | 'bot';

export interface SimUser {
  id: string;
  name: string;
  email: string;
  team: string;
  role: OrgRole;
  ip: string;
  ua: string;
}

export interface SimApp {
  id: string;
  name: string;
  scopes: string[];
  is_distributed: boolean;
  is_directory_approved: boolean;
  is_workflow_app: boolean;
}

export interface SimOrg {
  enterprise: Place;
  workspaces: Place[];
  users: SimUser[];
  usersById: Map<string, SimUser>;
  apps: SimApp[];
  ownApp: SimApp;
  channels: { id: string; name: string; privacy: 'public' | 'private'; is_shared: boolean; is_org_shared: boolean }[];
  files: { id: string; name: string; filetype: string; title: string }[];
}

const FIRST = ['Alice', 'Bob', 'Carol', 'Dan', 'Erin', 'Frank', 'Grace', 'Heidi', 'Ivan', 'Judy', 'Mallory', 'Niaj', 'Olivia', 'Peggy', 'Rupert', 'Sybil', 'Trent', 'Victor', 'Walter', 'Yuki', 'Zoe', 'Amir', 'Bea', 'Chen', 'Dara', 'Emeka', 'Farah', 'Goran', 'Hana', 'Ines'];
const LAST = ['Smith', 'Jones', 'Garcia', 'Kim', 'Nguyen', 'Okafor', 'Rossi', 'Novak', 'Silva', 'Tanaka', 'Müller', 'Dubois', 'Haddad', 'Kowalski', 'Larsen', "O'Brien"];
const UAS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.39.95 Chrome/126.0.6478.127 Electron/31.2.1 Safari/537.36 Sonic Slack_SSB/4.39.95',
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'com.tinyspeck.chatlyio/24.07.10 (iPhone; iOS 17.5.1; Scale/3.00)',
  'Slack/24.07.10.0 (Android 14; SM-S918B)',
];
const FILETYPES = [
  ['pdf', 'Q3 board deck'],
  ['xlsx', 'Customer export'],
  ['docx', 'Incident postmortem'],
  ['png', 'Screenshot'],
  ['csv', 'Payroll'],
  ['zip', 'Source archive'],
  ['gdoc', 'Roadmap'],
] as const;
const SCOPES = ['channels:history', 'channels:read', 'files:read', 'files:write', 'users:read', 'users:read.email', 'chat:write', 'admin', 'groups:history', 'im:history'];
const PREF_CHANGES: { action: string; prev: unknown; next: unknown }[] = [
  { action: 'pref.sso_setting_changed', prev: 'required', next: 'optional' },
  { action: 'pref.two_factor_auth_changed', prev: 'all', next: 'none' },
  { action: 'pref.session_duration_changed', prev: '2592000', next: '604800' },
  { action: 'pref.allow_message_deletion', prev: ['admins', 'owners'], next: ['everyone'] },
  { action: 'pref.public_channel_retention_changed', prev: { type: ['keep_all'] }, next: { type: ['days'], duration: ['90'] } },
  { action: 'pref.app_whitelist_enabled', prev: 'false', next: 'true' },
  { action: 'pref.anomaly_event_response_changed', prev: { reasons: ['tor'] }, next: { reasons: [] } },
];
const ANOMALY_REASONS = ['asn', 'ip_address', 'tor', 'excessive_downloads', 'session_fingerprint', 'unexpected_client', 'user_agent', 'unexpected_scraping', 'unexpected_api_call_volume', 'search_volume'];

export function buildOrg(seed: string | number, opts: { ownAppId?: string; adminActorId?: string; primaryOwnerId?: string; users?: number } = {}): SimOrg {
  const rng = new Prng(`${String(seed)}:org`);
  const enterprise: Place = { id: ENTERPRISE_ID, name: 'Simulated Corp', domain: 'sim-corp' };
  const workspaces: Place[] = [
    { id: 'T0SIMENG01', name: 'Engineering', domain: 'sim-eng' },
    { id: 'T0SIMSAL01', name: 'Sales', domain: 'sim-sales' },
    { id: 'T0SIMOPS01', name: 'Operations', domain: 'sim-ops' },
  ];
  const users: SimUser[] = [];
  const mk = (id: string, name: string, role: OrgRole, team: string): SimUser => {
    const email = role === 'bot' ? `botuser-${team}-${OWN_APP_ID}@slack-bots.com` : `${name.toLowerCase().replace(/[^a-z]+/g, '.')}@sim-corp.example`;
    return { id, name, email, team, role, ip: randomIpv4(rng), ua: rng.pick(UAS) };
  };
  const ws0 = workspaces[0]?.id ?? 'T0SIMENG01';
  users.push(mk(VICTIM_USER_ID, 'Victor Victim', 'member', ws0));
  users.push(mk(PROTECTED_ADMIN_ID, 'Petra Protected', 'admin', ENTERPRISE_ID));
  users.push(mk(opts.primaryOwnerId ?? PRIMARY_OWNER_ID, 'Olga Owner', 'primary_owner', ENTERPRISE_ID));
  if ((opts.primaryOwnerId ?? PRIMARY_OWNER_ID) !== PRIMARY_OWNER_ID) users.push(mk(PRIMARY_OWNER_ID, 'Oscar Owner', 'owner', ENTERPRISE_ID));
  users.push(mk(opts.adminActorId ?? ADMIN_ACTOR_ID, 'Sec Ops Admin', 'admin', ENTERPRISE_ID));
  users.push(mk(BOT_USER_ID, 'audit-bot', 'bot', ws0));
  const count = opts.users ?? 60;
  const seen = new Set(users.map((u) => u.id));
  while (users.length < count) {
    const id = rng.slackId('W0', 9);
    if (seen.has(id)) continue;
    seen.add(id);
    const name = `${rng.pick(FIRST)} ${rng.pick(LAST)}`;
    const role: OrgRole = rng.weighted([
      ['member', 80],
      ['guest', 8],
      ['admin', 6],
      ['owner', 2],
      ['bot', 4],
    ] as const);
    users.push(mk(id, name, role, role === 'admin' || role === 'owner' ? rng.pick([ENTERPRISE_ID, ws0]) : rng.pick(workspaces).id));
  }
  const mkApp = (id: string, name: string): SimApp => ({
    id,
    name,
    scopes: SCOPES.filter(() => rng.chance(0.35)),
    is_distributed: rng.chance(0.6),
    is_directory_approved: rng.chance(0.5),
    is_workflow_app: rng.chance(0.1),
  });
  const apps = ['Jira Cloud', 'Google Drive', 'Quick Export Helper', 'PagerDuty', 'Polly', 'Zoom', 'GitHub', 'Unknown Scraper'].map((n) => mkApp(rng.slackId('A0', 9), n));
  const ownApp: SimApp = { id: opts.ownAppId ?? OWN_APP_ID, name: 'Slack Audit Pipeline', scopes: ['auditlogs:read', 'admin.users:write', 'admin.users:read'], is_distributed: false, is_directory_approved: false, is_workflow_app: false };
  const channels: SimOrg['channels'] = ['general', 'random', 'eng-alerts', 'sales-deals', 'finance-private', 'incident-42', 'hr-confidential', 'shared-partner-acme'].map((name) => ({
    id: rng.slackId('C0', 9),
    name,
    privacy: name.includes('private') || name.includes('confidential') ? 'private' : 'public',
    is_shared: name.startsWith('shared'),
    is_org_shared: name === 'general',
  }));
  const files = Array.from({ length: 120 }, () => {
    const [filetype, title] = rng.pick(FILETYPES);
    const id = rng.slackId('F0', 9);
    return { id, name: `${title.toLowerCase().replace(/ /g, '_')}_${id.slice(-4).toLowerCase()}.${filetype}`, filetype, title };
  });
  return { enterprise, workspaces, users, usersById: new Map(users.map((u) => [u.id, u])), apps, ownApp, channels, files };
}

function randomIpv4(rng: Prng): string {
  // Documentation and shared ranges mostly, plus some public-looking ones so geo enrichment has work to do.
  const base = rng.pick(['192.0.2', '198.51.100', '203.0.113', '81.2.69', '89.160.20', '175.16.199', '216.160.83']);
  return `${base}.${rng.int(1, 254)}`;
}

function randomIpv6(rng: Prng): string {
  return `2001:db8:${rng.hex(4)}:${rng.hex(4)}::${rng.hex(3)}`;
}

function userObj(u: SimUser): Record<string, unknown> {
  return { id: u.id, name: u.name, email: u.email, team: u.team };
}

function appObj(app: SimApp, org: SimOrg): Record<string, unknown> {
  return { id: app.id, name: app.name, scopes: app.scopes, scopes_bot: [], creator: ADMIN_ACTOR_ID, team: org.enterprise.id };
}

function sessionId(rng: Prng): number | string | null {
  const n = rng.int(100_000_000, 999_999_999) * 1000 + rng.int(0, 999);
  return rng.weighted<number | string | null>([
    [n, 70],
    [String(n), 25],
    [null, 5],
  ]);
}

/** action_timestamp in µs (docs) or ms (Elastic sample): both occur (§2.2). */
function actionTimestamp(rng: Prng, dateSec: number): number {
  const ms = dateSec * 1000 - rng.int(0, 60_000);
  return rng.chance(0.5) ? ms * 1000 + rng.int(0, 999) : ms;
}

interface EventInput {
  action: string;
  actor: SimUser | { id: string; name: string; email: string; team: string };
  entity: Record<string, unknown>;
  details?: Record<string, unknown> | undefined;
  app?: SimApp | null | undefined;
  ip?: string | undefined;
  ua?: string | undefined;
  session?: number | string | null | undefined;
  location?: Place | undefined;
}

export function makeEntry(rng: Prng, org: SimOrg, dateSec: number, e: EventInput): RawEntry {
  const ws = org.workspaces.find((w) => w.id === e.actor.team);
  const location = e.location ?? (ws === undefined ? org.enterprise : ws);
  const context: Record<string, unknown> = {
    location: { type: location.id.startsWith('E') ? 'enterprise' : 'workspace', id: location.id, name: location.name, domain: location.domain },
    ua: e.ua ?? ('ua' in e.actor ? e.actor.ua : 'Slack/1.0'),
    ip_address: e.ip ?? ('ip' in e.actor ? e.actor.ip : ''),
    session_id: e.session === undefined ? sessionId(rng) : e.session,
  };
  if (e.app === null) context.app = null;
  else if (e.app !== undefined) context.app = appObj(e.app, org);
  const entry: RawEntry = {
    id: rng.uuid(),
    date_create: dateSec,
    action: e.action,
    actor: { type: 'user', user: { id: e.actor.id, name: e.actor.name, email: e.actor.email, team: e.actor.team } },
    entity: e.entity,
    context,
  };
  if (e.details !== undefined) entry.details = e.details;
  return entry;
}

const ACTION_WEIGHTS: readonly (readonly [string, number])[] = [
  ['user_login', 22],
  ['file_downloaded', 18],
  ['user_channel_join', 8],
  ['file_uploaded', 6],
  ['file_shared', 6],
  ['user_logout', 5],
  ['user_login_failed', 3],
  ['user_channel_leave', 2],
  ['public_channel_created', 2],
  ['private_channel_created', 1.5],
  ['pref', 2],
  ['anomaly', 1.5],
  ['app_installed', 1.5],
  ['app_scopes_expanded', 1],
  ['huddle_started', 1],
  ['role_change_to_admin', 0.5],
  ['role_change_to_user', 0.3],
  ['user_profile_updated', 0.6],
  ['user_session_settings_changed', 0.3],
  ['channel_retention_changed', 0.3],
  ['message_flagged', 0.3],
  ['file_download_blocked', 0.3],
  ['user_password_reset_slack_security', 0.1],
  ['unknown', 0.6],
];

/** One random but realistic entry at `dateSec`. */
export function randomEntry(rng: Prng, org: SimOrg, dateSec: number, forced?: string): RawEntry {
  const humans = org.users.filter((u) => u.role !== 'bot');
  const admins = org.users.filter((u) => u.role === 'admin' || u.role === 'owner' || u.role === 'primary_owner');
  const actor = rng.pick(humans);
  const file = rng.pick(org.files);
  const channel = rng.pick(org.channels);
  const kind = forced ?? rng.weighted(ACTION_WEIGHTS);
  // Odd-but-valid context shapes, a few percent each.
  const ip = rng.chance(0.03) ? '' : rng.chance(0.08) ? randomIpv6(rng) : undefined;
  const app = rng.chance(0.04) ? null : undefined;
  const base = { actor, ip, app };
  const fileEntity = { type: 'file', file: { id: file.id, name: file.name, filetype: file.filetype, title: file.title } };
  const channelEntity = { type: 'channel', channel: { id: channel.id, name: channel.name, privacy: channel.privacy, is_shared: channel.is_shared, is_org_shared: channel.is_org_shared } };
  const userEntity = (u: SimUser): Record<string, unknown> => ({ type: 'user', user: userObj(u) });
  switch (kind) {
    case 'user_login':
      return makeEntry(rng, org, dateSec, {
        ...base,
        action: kind,
        entity: userEntity(actor),
        details: rng.chance(0.3) ? { idp_config_id: 'Ssim01', config_type: 'saml', idp_entity_id: 'https://idp.sim-corp.example', label: 'Okta' } : undefined,
      });
    case 'user_login_failed':
    case 'user_logout':
    case 'user_profile_updated':
      return makeEntry(rng, org, dateSec, {
        ...base,
        action: kind,
        entity: userEntity(actor),
        details: kind === 'user_profile_updated' ? { previous_profile: { real_name: actor.name }, new_profile: { real_name: `${actor.name} (she/her)`, display_name: actor.name.split(' ')[0] } } : undefined,
      });
    case 'file_downloaded':
    case 'file_uploaded':
    case 'file_download_blocked':
      return makeEntry(rng, org, dateSec, { ...base, action: kind, entity: fileEntity, details: rng.chance(0.2) ? { url_private: `https://files.slack.com/files-pri/${org.enterprise.id}-${file.id}/${file.name}` } : undefined });
    case 'file_shared':
      return makeEntry(rng, org, dateSec, { ...base, action: kind, entity: fileEntity, details: { shared_with: { channel_id: channel.id, access_level: rng.pick(['read', 'write']) }, url_private: `https://files.slack.com/files-pri/${org.enterprise.id}-${file.id}/${file.name}` } });
    case 'user_channel_join':
    case 'user_channel_leave':
      return makeEntry(rng, org, dateSec, {
        ...base,
        action: kind,
        entity: channelEntity,
        details: kind === 'user_channel_join' ? (rng.chance(0.5) ? { inviter: userObj(rng.pick(humans)), is_workflow: false } : { is_workflow: rng.chance(0.1) }) : { kicker: rng.chance(0.3) ? userObj(rng.pick(admins)) : undefined },
      });
    case 'public_channel_created':
    case 'private_channel_created':
    case 'channel_retention_changed':
      return makeEntry(rng, org, dateSec, {
        ...base,
        action: kind,
        entity: channelEntity,
        details: kind === 'channel_retention_changed' ? { old_retention_policy: { type: 'keep_all', duration_days: 0 }, new_retention_policy: { type: 'days', duration_days: 90 } } : undefined,
      });
    case 'pref': {
      const pref = rng.pick(PREF_CHANGES);
      const admin = rng.pick(admins);
      const target = rng.chance(0.5) ? org.enterprise : rng.pick(org.workspaces);
      const type = target.id.startsWith('E') ? 'enterprise' : 'workspace';
      return makeEntry(rng, org, dateSec, { actor: admin, action: pref.action, entity: { type, [type]: { ...target } }, details: { name: pref.action.slice(5), previous_value: pref.prev, new_value: pref.next }, location: target });
    }
    case 'anomaly': {
      const reasons = ANOMALY_REASONS.filter(() => rng.chance(0.2));
      if (reasons.length === 0) reasons.push(rng.pick(ANOMALY_REASONS));
      const details: Record<string, unknown> = {
        reason: rng.chance(0.25) && reasons.length === 1 ? reasons[0] : reasons,
        action_timestamp: actionTimestamp(rng, dateSec),
        location: rng.pick(['Reno, Nevada', 'Frankfurt am Main, Germany', 'Singapore', '']),
        previous_ip_address: rng.chance(0.5) ? actor.ip : '',
        previous_ua: rng.chance(0.5) ? actor.ua : '',
      };
      if (reasons.includes('ip_address')) details.ip_address_details = rng.chance(0.5) ? ['new-asn'] : ['cloud-asn', 'in-ioc-list'];
      if (reasons.includes('unexpected_client')) details.detected_client = 'python-requests/2.31';
      return makeEntry(rng, org, dateSec, { actor, action: 'anomaly', entity: userEntity(actor), details, ip: randomIpv4(rng), app: rng.chance(0.1) ? null : undefined });
    }
    case 'app_installed':
    case 'app_scopes_expanded': {
      const app2 = rng.pick(org.apps);
      const details =
        kind === 'app_installed'
          ? { app_owner_id: actor.id, is_internal_integration: rng.chance(0.3), is_token_rotation_enabled_app: false }
          : { scopes: app2.scopes, new_scopes: ['files:read', 'users:read.email'], previous_scopes: app2.scopes.slice(0, 1), bot_scopes: [], granular_bot_token: true };
      return makeEntry(rng, org, dateSec, { ...base, action: kind, entity: { type: 'app', app: { ...app2 } }, details, app: rng.chance(0.5) ? app2 : app });
    }
    case 'huddle_started':
      return makeEntry(rng, org, dateSec, {
        ...base,
        action: kind,
        entity: { type: 'huddle', huddle: { id: rng.slackId('R0', 9), date_start: dateSec, date_end: 0, participants: [actor.id, rng.pick(humans).id] } },
      });
    case 'role_change_to_admin':
    case 'role_change_to_user':
      return makeEntry(rng, org, dateSec, { actor: rng.pick(admins), action: kind, entity: userEntity(rng.pick(humans)), details: rng.chance(0.5) ? { previous_role: 'member' } : undefined });
    case 'user_session_settings_changed':
      return makeEntry(rng, org, dateSec, { actor: rng.pick(admins), action: kind, entity: { type: 'enterprise', enterprise: { ...org.enterprise } }, details: { duration: rng.pick([28800, 604800]), desktop_app_browser_quit: rng.chance(0.5) } });
    case 'message_flagged':
      return makeEntry(rng, org, dateSec, { ...base, action: kind, entity: { type: 'message', message: { channel: channel.id, team: actor.team, timestamp: `${dateSec}.${rng.int(100000, 999999)}` } } });
    case 'user_password_reset_slack_security':
      return makeEntry(rng, org, dateSec, {
        actor: { id: 'USLACKSECURITY', name: 'Slack Security', email: '', team: org.enterprise.id },
        action: kind,
        entity: userEntity(actor),
        ip: '',
        ua: '',
        session: null,
      });
    default:
      // Actions and entity types nobody documented yet: the pipeline must pass them through.
      return makeEntry(rng, org, dateSec, {
        ...base,
        action: rng.pick(['future_feature_toggled', 'canvas_ai_summary_generated', 'list_item_exported']),
        entity: rng.chance(0.5) ? { type: 'gadget', gadget: { id: rng.slackId('G0', 9), label: 'sim' } } : { type: 'canvas', canvas: { id: file.id, filetype: 'quip', title: file.title } },
        details: { opaque: { nested: [1, 'two', { three: 3 }] }, flag: rng.chance(0.5) ? 'yes' : ['y', 'e', 's'] },
      });
  }
}

/** Entries of one target's part of the attack story, with offsets (seconds) from the story start. */
export function storyEntries(rng: Prng, org: SimOrg, startSec: number, compress = 1): RawEntry[] {
  const out: RawEntry[] = [];
  const at = (offset: number): number => startSec + Math.floor(offset / Math.max(1, compress));
  for (const target of ATTACK_STORY.targets) {
    const user = org.usersById.get(target.userId);
    if (!user) continue;
    const session = 913888259765 + out.length;
    const ua = 'Mozilla/5.0 (Windows NT 10.0; rv:115.0) Gecko/20100101 Firefox/115.0';
    const t0 = at(target.anomalyAtSeconds);
    out.push(
      makeEntry(rng, org, t0, {
        actor: user,
        action: 'anomaly',
        entity: { type: 'user', user: userObj(user) },
        ip: STORY_TOR_IP,
        ua,
        session,
        details: {
          reason: [...STORY_ANOMALY_REASONS],
          action_timestamp: (t0 * 1000 - 42_000) * 1000,
          location: 'Amsterdam, Netherlands',
          previous_ip_address: user.ip,
          previous_ua: user.ua,
        },
      }),
    );
    const n = ATTACK_STORY.downloadsPerTarget;
    for (let i = 0; i < n; i++) {
      const file = org.files[i % org.files.length] ?? org.files[0];
      if (!file) break;
      const offset = target.anomalyAtSeconds + ATTACK_STORY.downloadsStartAfterSeconds + Math.floor((i * ATTACK_STORY.downloadSpanSeconds) / n);
      out.push(
        makeEntry(rng, org, at(offset), {
          actor: user,
          action: 'file_downloaded',
          entity: { type: 'file', file: { id: file.id, name: file.name, filetype: file.filetype, title: file.title } },
          ip: STORY_TOR_IP,
          ua,
          session,
        }),
      );
    }
  }
  return out;
}

/** The audit entry Slack writes after a successful admin.users.session.reset (§3.1). */
export function resetEntry(rng: Prng, org: SimOrg, dateSec: number, adminActorId: string, target: SimUser, flags: { mobileOnly: boolean; webOnly: boolean }): RawEntry {
  const admin = org.usersById.get(adminActorId) ?? { id: adminActorId, name: 'Admin', email: 'admin@sim-corp.example', team: org.enterprise.id, role: 'admin' as const, ip: '192.0.2.10', ua: '' };
  return makeEntry(rng, org, dateSec, {
    actor: admin,
    action: 'user_session_reset_by_admin',
    entity: { type: 'user', user: userObj(target) },
    app: org.ownApp,
    ip: admin.ip,
    ua: 'slack-audit (undici)',
    session: null,
    location: org.enterprise,
    details: { mobile_only: flags.mobileOnly, web_only: flags.webOnly, non_sso_only: false },
  });
}

/** The audit entry for admin.users.session.resetBulk; the user lists arrive as a JSON string or an array (§1.6). */
export function bulkResetEntry(rng: Prng, org: SimOrg, dateSec: number, adminActorId: string, succeeded: string[], failed: string[]): RawEntry {
  const admin = org.usersById.get(adminActorId) ?? { id: adminActorId, name: 'Admin', email: 'admin@sim-corp.example', team: org.enterprise.id, role: 'admin' as const, ip: '192.0.2.10', ua: '' };
  const asString = rng.chance(0.5);
  return makeEntry(rng, org, dateSec, {
    actor: admin,
    action: 'bulk_session_reset_by_admin',
    entity: { type: 'enterprise', enterprise: { ...org.enterprise } },
    app: org.ownApp,
    session: null,
    location: org.enterprise,
    details: { succeeded_users: asString ? JSON.stringify(succeeded) : succeeded, failed_users: asString ? JSON.stringify(failed) : failed },
  });
}
