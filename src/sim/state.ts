import type { RawEntry } from '../slack/entry.js';
import { buildOrg, bulkResetEntry, randomEntry, resetEntry, storyEntries, type SimOrg, type SimUser } from './org.js';
import { Prng } from './prng.js';
import { EventStore, actorIdOf } from './store.js';
import { ADMIN_ACTOR_ID, ATTACK_STORY, OWN_APP_ID, PRIMARY_OWNER_ID } from './story.js';

/**
 * Everything the simulator knows and counts: the org, the event log, fault settings, rate-limit state, the
 * admin calls it received. The HTTP layer (server.ts) is a thin shell around this.
 */

export interface SimFaults {
  /** Probability that an Audit Logs request gets a 429. */
  rate429: number;
  /** Retry-After announced with rate429 faults (Slack seconds, divided by timeScale). */
  retryAfterSeconds: number;
  /** Probability of a 5xx with a JSON or plain body. */
  error5xxRate: number;
  /** Probability of a 502/504 with an HTML body (a proxy in the way). */
  htmlErrorRate: number;
  /** Delay added to every Audit Logs response. */
  slowMs: number;
  /** Probability that a request never gets an answer (until the client gives up). */
  hangRate: number;
  /** Probability of a 200 with a truncated JSON body. */
  malformedJsonRate: number;
  /** Cursors older than this (Slack seconds, divided by timeScale) get invalid_cursor; 0 = never expire. */
  cursorTtlSeconds: number;
  /** Probability that a live event is late: its date_create lies in the past. */
  lateRate: number;
  maxLatenessSeconds: number;
  /** A 429 storm of this many (Slack) seconds from start; 0 = none. */
  stormSeconds: number;
  /** Divides every announced or enforced duration, so an hour-long storm runs in seconds. */
  timeScale: number;
  /** Admin API: probability of ok:false user_session_reset_failed. */
  adminFailRate: number;
  /** Admin API: probability of a 429 ratelimited. */
  admin429Rate: number;
}

export interface SimOptions {
  seed?: string | number;
  port?: number;
  host?: string;
  /** Audit Logs token the simulator accepts. */
  token?: string;
  /** Admin API token the simulator accepts. */
  adminToken?: string;
  historicalEvents?: number;
  historyHours?: number;
  /** Unix seconds that history ends at (default: now). Same seed + anchor = identical history. */
  anchorTime?: number;
  liveRatePerSecond?: number;
  sameSecondBurstSize?: number;
  attackStory?: boolean;
  /** Story start relative to the simulator start, seconds (default -900: recent past). */
  attackStoryOffsetSeconds?: number;
  primaryOwnerId?: string;
  adminActorId?: string;
  ownAppId?: string;
  /** Token bucket per token, like Slack Tier 3 (bursts up to this many, refill at this rate); 0 = off. */
  rateLimitPerMinute?: number;
  faults?: Partial<SimFaults>;
}

export interface SimStats {
  requests: number;
  logsRequests: number;
  entriesServed: number;
  rateLimited: number;
  retryAfterIgnored: number;
  served5xx: number;
  servedHtml: number;
  servedMalformed: number;
  hung: number;
  invalidCursor: number;
  authFailures: number;
  adminCalls: number;
  liveEvents: number;
  lateEvents: number;
  injectedEvents: number;
  resetEntries: number;
}

export interface AdminCall {
  /** Epoch ms the call arrived. */
  at: number;
  method: string;
  userId: string | undefined;
  userIds: string[] | undefined;
  mobileOnly: boolean;
  webOnly: boolean;
  /** 'ok' or the Slack error string returned. */
  outcome: string;
  httpStatus: number;
  /** Id of the audit entry the call produced, if any. */
  auditEntryId: string | undefined;
}

export const DEFAULT_SIM_TOKEN = 'xoxp-sim-audit-token-0000';
export const DEFAULT_SIM_ADMIN_TOKEN = 'xoxp-sim-admin-token-0000';
/** Slack has no audit data before March 2018 (§1.3). */
export const EARLIEST_AUDIT_SECOND = Date.UTC(2018, 2, 1) / 1000;

export const DEFAULT_FAULTS: SimFaults = {
  rate429: 0,
  retryAfterSeconds: 30,
  error5xxRate: 0,
  htmlErrorRate: 0,
  slowMs: 0,
  hangRate: 0,
  malformedJsonRate: 0,
  cursorTtlSeconds: 0,
  lateRate: 0,
  maxLatenessSeconds: 300,
  stormSeconds: 0,
  timeScale: 1,
  adminFailRate: 0,
  admin429Rate: 0,
};

export type Admission = { ok: true } | { ok: false; retryAfterSeconds: number; ignored: boolean };

export class SimState {
  readonly org: SimOrg;
  readonly store = new EventStore();
  readonly faults: SimFaults;
  readonly stats: SimStats = {
    requests: 0,
    logsRequests: 0,
    entriesServed: 0,
    rateLimited: 0,
    retryAfterIgnored: 0,
    served5xx: 0,
    servedHtml: 0,
    servedMalformed: 0,
    hung: 0,
    invalidCursor: 0,
    authFailures: 0,
    adminCalls: 0,
    liveEvents: 0,
    lateEvents: 0,
    injectedEvents: 0,
    resetEntries: 0,
  };
  readonly adminCalls: AdminCall[] = [];
  readonly token: string;
  readonly adminToken: string;
  readonly primaryOwnerId: string;
  readonly adminActorId: string;
  readonly startedAt = Date.now();
  liveRatePerSecond: number;
  sameSecondBurstSize: number;
  rateLimitPerMinute: number;
  stormUntilMs = 0;
  readonly faultRng: Prng;
  private readonly liveRng: Prng;
  private readonly adminRng: Prng;
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();
  /** Per token: the instant (epoch ms) until which it was told to wait. */
  private readonly waitUntil = new Map<string, number>();
  /** Future-dated entries (a story playing live), released when their second comes. */
  private scheduled: RawEntry[] = [];
  private liveCarry = 0;
  private readonly resetUsers = new Set<string>();

  constructor(opts: SimOptions = {}) {
    const seed = opts.seed ?? 42;
    this.faults = { ...DEFAULT_FAULTS, ...definedOnly(opts.faults ?? {}) };
    this.token = opts.token ?? DEFAULT_SIM_TOKEN;
    this.adminToken = opts.adminToken ?? DEFAULT_SIM_ADMIN_TOKEN;
    this.primaryOwnerId = opts.primaryOwnerId ?? PRIMARY_OWNER_ID;
    this.adminActorId = opts.adminActorId ?? ADMIN_ACTOR_ID;
    this.liveRatePerSecond = opts.liveRatePerSecond ?? 1;
    this.sameSecondBurstSize = Math.max(1, opts.sameSecondBurstSize ?? 25);
    this.rateLimitPerMinute = opts.rateLimitPerMinute ?? 50;
    this.org = buildOrg(seed, { ownAppId: opts.ownAppId ?? OWN_APP_ID, adminActorId: this.adminActorId, primaryOwnerId: this.primaryOwnerId });
    this.faultRng = new Prng(`${String(seed)}:faults`);
    this.liveRng = new Prng(`${String(seed)}:live`);
    this.adminRng = new Prng(`${String(seed)}:admin`);
    const anchor = Math.floor(opts.anchorTime ?? this.startedAt / 1000);
    this.seedHistory(new Prng(`${String(seed)}:history`), anchor, opts.historicalEvents ?? 2000, opts.historyHours ?? 24);
    if (opts.attackStory ?? true) {
      this.schedule(storyEntries(new Prng(`${String(seed)}:story`), this.org, anchor + (opts.attackStoryOffsetSeconds ?? ATTACK_STORY.defaultStartOffsetSeconds)));
    }
    if (this.faults.stormSeconds > 0) this.startStorm(this.faults.stormSeconds);
  }

  nowMs(): number {
    return Date.now();
  }

  nowSec(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  /** Real milliseconds for a duration given in Slack seconds. */
  scaledMs(slackSeconds: number): number {
    return (slackSeconds * 1000) / Math.max(1e-9, this.faults.timeScale);
  }

  private seedHistory(rng: Prng, anchor: number, count: number, hours: number): void {
    const span = Math.max(1, Math.floor(hours * 3600));
    const entries: RawEntry[] = [];
    const burst = this.sameSecondBurstSize;
    const bursts = burst > 1 && count >= burst * 4 ? Math.max(2, Math.floor(count / 500)) : 0;
    for (let b = 0; b < bursts; b++) {
      const second = anchor - rng.int(0, span - 1);
      const action = rng.pick(['file_downloaded', 'user_channel_join', 'user_login']);
      for (let i = 0; i < burst; i++) entries.push(randomEntry(rng, this.org, second, action));
    }
    while (entries.length < count) entries.push(randomEntry(rng, this.org, anchor - rng.int(0, span - 1)));
    entries.sort((a, b) => (a.date_create as number) - (b.date_create as number));
    for (const e of entries) this.store.add(e);
  }

  /** Add entries now, or hold future-dated ones until their second arrives. */
  schedule(entries: RawEntry[]): void {
    const now = this.nowSec();
    for (const e of entries) {
      if (typeof e.date_create === 'number' && e.date_create > now) this.scheduled.push(e);
      else this.store.add(e);
    }
    this.scheduled.sort((a, b) => (a.date_create as number) - (b.date_create as number));
  }

  /** Play the attack story from now, compressed by timeScale (new ids each time). */
  playAttackStory(): number {
    const entries = storyEntries(this.liveRng, this.org, this.nowSec(), this.faults.timeScale);
    this.schedule(entries);
    return entries.length;
  }

  /** Called by the live ticker: release scheduled entries and produce live ones for `elapsedMs`. */
  tick(elapsedMs: number): void {
    const now = this.nowSec();
    while (this.scheduled.length > 0 && ((this.scheduled[0]?.date_create as number | undefined) ?? Infinity) <= now) {
      const e = this.scheduled.shift();
      if (e) this.store.add(e);
    }
    this.liveCarry += (this.liveRatePerSecond * elapsedMs) / 1000;
    while (this.liveCarry >= 1) {
      this.liveCarry -= 1;
      const rng = this.liveRng;
      let date = now;
      if (rng.chance(this.faults.lateRate)) {
        date = now - rng.int(1, Math.max(1, Math.floor(this.faults.maxLatenessSeconds)));
        this.stats.lateEvents++;
      }
      const n = rng.chance(0.01) ? this.sameSecondBurstSize : 1;
      const action = n > 1 ? 'file_downloaded' : undefined;
      for (let i = 0; i < n; i++) {
        this.store.add(randomEntry(rng, this.org, date, action));
        this.stats.liveEvents++;
      }
    }
  }

  inject(entries: RawEntry[]): void {
    for (const e of entries) {
      // Users named by injected entries become members of the org, so resets against them work.
      const actorId = actorIdOf(e);
      if (actorId !== undefined && !this.org.usersById.has(actorId) && /^[UW]/.test(actorId)) this.addUser(actorId);
      this.store.add(e);
      this.stats.injectedEvents++;
    }
  }

  private addUser(id: string): SimUser {
    const ws = this.org.workspaces[0];
    const user: SimUser = { id, name: id, email: `${id.toLowerCase()}@sim-corp.example`, team: ws?.id ?? this.org.enterprise.id, role: 'member', ip: '192.0.2.77', ua: 'Slack/1.0' };
    this.org.users.push(user);
    this.org.usersById.set(id, user);
    return user;
  }

  startStorm(slackSeconds: number): void {
    this.stormUntilMs = this.nowMs() + this.scaledMs(slackSeconds);
  }

  stormActive(): boolean {
    return this.nowMs() < this.stormUntilMs;
  }

  resetRateLimits(): void {
    this.buckets.clear();
    this.waitUntil.clear();
    this.stormUntilMs = 0;
  }

  /**
   * Rate limiting for one Audit Logs request by `token`: Retry-After enforcement first (a request inside
   * the announced wait counts as ignoring it and is refused again), then the storm, random 429s and the
   * Tier 3 token bucket.
   */
  admit(token: string): Admission {
    const now = this.nowMs();
    const until = this.waitUntil.get(token);
    // A few ms of grace for timer jitter: a client that slept Retry-After seconds must never be counted.
    if (until !== undefined && now < until - 10) {
      this.stats.retryAfterIgnored++;
      this.stats.rateLimited++;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)), ignored: true };
    }
    let waitMs: number | undefined;
    if (now < this.stormUntilMs) waitMs = this.stormUntilMs - now;
    else if (this.faultRng.chance(this.faults.rate429)) waitMs = this.scaledMs(this.faults.retryAfterSeconds);
    else if (this.rateLimitPerMinute > 0) {
      const perMs = (this.rateLimitPerMinute / 60_000) * this.faults.timeScale;
      const b = this.buckets.get(token) ?? { tokens: this.rateLimitPerMinute, atMs: now };
      b.tokens = Math.min(this.rateLimitPerMinute, b.tokens + (now - b.atMs) * perMs);
      b.atMs = now;
      this.buckets.set(token, b);
      if (b.tokens >= 1) b.tokens -= 1;
      else waitMs = (1 - b.tokens) / perMs;
    }
    if (waitMs === undefined) return { ok: true };
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    this.waitUntil.set(token, now + seconds * 1000);
    this.stats.rateLimited++;
    return { ok: false, retryAfterSeconds: seconds, ignored: false };
  }

  /** admin.users.session.reset semantics (§3.1). Returns the Slack error string, or undefined on success. */
  resetUser(userId: string, flags: { mobileOnly: boolean; webOnly: boolean }): { error: string | undefined; entryId: string | undefined } {
    const user = this.org.usersById.get(userId);
    if (!user) return { error: 'user_not_found', entryId: undefined };
    if (userId === this.primaryOwnerId) return { error: 'cannot_reset_primary_owner', entryId: undefined };
    if (user.role === 'bot') return { error: 'cannot_reset_bot', entryId: undefined };
    if (this.adminRng.chance(this.faults.adminFailRate)) return { error: 'user_session_reset_failed', entryId: undefined };
    const entry = resetEntry(this.adminRng, this.org, this.nowSec(), this.adminActorId, user, flags);
    this.store.add(entry);
    this.stats.resetEntries++;
    this.resetUsers.add(userId);
    return { error: undefined, entryId: typeof entry.id === 'string' ? entry.id : undefined };
  }

  resetBulk(userIds: string[]): { succeeded: string[]; failed: string[]; entryId: string | undefined } {
    const succeeded: string[] = [];
    const failed: string[] = [];
    for (const id of userIds) {
      const u = this.org.usersById.get(id);
      if (!u || id === this.primaryOwnerId || u.role === 'bot') failed.push(id);
      else {
        succeeded.push(id);
        this.resetUsers.add(id);
      }
    }
    const entry = bulkResetEntry(this.adminRng, this.org, this.nowSec(), this.adminActorId, succeeded, failed);
    this.store.add(entry);
    this.stats.resetEntries++;
    return { succeeded, failed, entryId: typeof entry.id === 'string' ? entry.id : undefined };
  }

  /** Active sessions per admin.users.session.list; a reset user has none until they log in again. */
  sessions(userId: string | undefined): unknown[] {
    const users = userId === undefined ? this.org.users.filter((u) => u.role !== 'bot') : this.org.users.filter((u) => u.id === userId);
    const out: unknown[] = [];
    for (const u of users) {
      if (this.resetUsers.has(u.id)) continue;
      const rng = new Prng(`session:${u.id}`);
      out.push({
        user_id: u.id,
        team_id: u.team,
        session_id: rng.int(100_000_000, 999_999_999),
        created: { device_hardware: 'Mac', os: 'macOS', os_version: '14.5', slack_client_version: '4.39.95', ip: u.ip },
      });
    }
    return out;
  }

  recordAdminCall(call: AdminCall): void {
    this.adminCalls.push(call);
    this.stats.adminCalls++;
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
