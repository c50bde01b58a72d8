/**
 * Deterministic, realistic Slack audit entries for the benchmark, built on the simulator's own generator
 * (src/sim/org.ts: buildOrg + randomEntry + makeEntry), so the shapes are the ones the simulator serves,
 * odd-but-valid ones included (unknown actions and entity types, null app, empty IP, string/number session ids).
 *
 * Two things are re-drawn here, because they decide the cost of enrichment and the simulator keeps them small
 * for readable demos: the simulator gives each user one IP, mostly from documentation ranges (RFC 5737/3849,
 * which no GeoIP database holds), and one of five user agents. A real Grid org has public addresses (home, office
 * NAT, mobile carriers) and dozens of client versions, so every non-empty IP becomes one of the actor's 1-3 public
 * addresses (3% a fresh one) and every non-empty UA one of the actor's 1-3 clients from a pool of 20.
 *
 * About 1 anomaly in 4 starts an incident: a burst of 70-90 downloads by the same user from a new address
 * within minutes, so the threshold and sequence rules of the default pack have work to do.
 *
 * Same seed => same entries (ids, actors, IPs, user agents, actions, details, order); only `date_create` is
 * anchored to the run's clock, because the pipeline stage polls the simulator for recent history.
 */
import { buildOrg, makeEntry, randomEntry, type SimOrg, type SimUser } from '../../src/sim/org.js';
import { Prng } from '../../src/sim/prng.js';
import type { RawEntry } from '../../src/slack/entry.js';

export interface GenerateOptions {
  seed: string;
  count: number;
  /** Unix seconds of the newest entry. */
  endSeconds: number;
  /** Entries are spread evenly over this many hours before endSeconds. */
  spanHours: number;
}

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.37.101 Chrome/122.0.6261.156 Electron/29.3.0 Safari/537.36 Sonic',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.36.140 Chrome/120.0.6099.291 Electron/28.2.3 Safari/537.36 Sonic',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.36.140 Chrome/120.0.6099.291 Electron/28.2.3 Safari/537.36 Sonic',
  'com.tinyspeck.chatlyio/24.04.10 (iPhone; iOS 17.4.1; Scale/3.00)',
  'com.tinyspeck.chatlyio/24.03.20 (iPad; iOS 16.7.7; Scale/2.00)',
  'Slack/24.04.10.0 (Android 14; Pixel 8 Pro)',
  'Slack/24.03.20.0 (Android 13; SM-S918B)',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
  '@slack:web-api/7.0.4 node/20.11.0 linux/6.5.0',
  'Python/3.11 slack_sdk/3.27.1',
  'python-requests/2.31.0',
  'Go-http-client/2.0',
  'curl/8.4.0',
];

/** A public unicast IPv4 address (skips private, loopback, CGNAT, link-local, documentation and multicast blocks). */
function publicIpv4(r: Prng): string {
  for (;;) {
    const a = r.int(1, 223);
    if (a === 10 || a === 127 || a === 100 || a === 169 || a === 172 || a === 192 || a === 198 || a === 203) continue;
    return `${String(a)}.${String(r.int(0, 255))}.${String(r.int(0, 255))}.${String(r.int(1, 254))}`;
  }
}

function publicIpv6(r: Prng): string {
  return `${r.pick(['2a00:1450', '2001:4860', '2607:f8b0', '2a03:2880', '2600:1f18', '2a02:26f0'])}:${r.hex(4)}:${r.hex(4)}::${r.hex(4)}`;
}

interface Identity {
  ips: string[];
  uas: string[];
}

function identities(r: Prng, org: SimOrg): Map<string, Identity> {
  const officeNat = Array.from({ length: 40 }, () => publicIpv4(r));
  const out = new Map<string, Identity>();
  for (const u of org.users) {
    out.set(u.id, {
      ips: Array.from({ length: r.int(1, 3) }, () => (r.chance(0.35) ? r.pick(officeNat) : r.chance(0.1) ? publicIpv6(r) : publicIpv4(r))),
      uas: Array.from({ length: r.int(1, 3) }, () => r.pick(USER_AGENTS)),
    });
  }
  return out;
}

function rec(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Generate `count` entries, oldest first. */
export function generateEntries(opts: GenerateOptions): RawEntry[] {
  const r = new Prng(`bench:${opts.seed}`);
  // ~1 user per 100 events (2000 for the default 200k): enough distinct IPs that GeoIP is not all cache hits.
  const org = buildOrg(`bench:${opts.seed}`, { users: Math.max(100, Math.min(5000, Math.floor(opts.count / 100))) });
  const ids = identities(r, org);
  const humans = org.users.filter((u) => u.role !== 'bot');
  const span = Math.max(60, Math.floor(opts.spanHours * 3600));
  const start = opts.endSeconds - span;
  const out: RawEntry[] = [];
  let burst: { user: SimUser; left: number; ip: string } | undefined;
  for (let i = 0; i < opts.count; i++) {
    const dateSec = start + Math.floor(((i + 1) * span) / opts.count);
    if (burst && burst.left > 0) {
      burst.left -= 1;
      const file = r.pick(org.files);
      out.push(makeEntry(r, org, dateSec, { actor: burst.user, action: 'file_downloaded', entity: { type: 'file', file: { ...file } }, ip: burst.ip, ua: 'python-requests/2.31.0' }));
      continue;
    }
    const entry = randomEntry(r, org, dateSec);
    const context = rec(entry.context);
    const actorId = rec(rec(entry.actor)?.user)?.id;
    const id = typeof actorId === 'string' ? ids.get(actorId) : undefined;
    if (context && id) {
      if (typeof context.ip_address === 'string' && context.ip_address !== '') context.ip_address = r.chance(0.03) ? publicIpv4(r) : r.pick(id.ips);
      if (typeof context.ua === 'string' && context.ua !== '') context.ua = r.pick(id.uas);
    }
    out.push(entry);
    if (entry.action === 'anomaly' && r.chance(0.25)) {
      const user = org.usersById.get(typeof actorId === 'string' ? actorId : '') ?? r.pick(humans);
      burst = { user, left: r.int(70, 90), ip: publicIpv4(r) };
    }
  }
  return out;
}
