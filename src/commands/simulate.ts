import { InvalidArgumentError, type Command } from 'commander';
import { startSimulator } from '../sim/server.js';
import { DEFAULT_FAULTS, DEFAULT_SIM_ADMIN_TOKEN, DEFAULT_SIM_TOKEN, type SimFaults, type SimOptions } from '../sim/state.js';
import { ADMIN_ACTOR_ID, OWN_APP_ID, PRIMARY_OWNER_ID } from '../sim/story.js';

/** `slack-audit simulate`: run the Slack simulator (Audit Logs + admin API) until SIGINT/SIGTERM. */

function num(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number in [${min}, ${max}]`);
    return n;
  };
}
const prob = num(0, 1);

interface SimulateFlags {
  host: string;
  port: number;
  seed: string;
  token?: string;
  adminToken?: string;
  historicalEvents: number;
  historyHours: number;
  liveRate: number;
  burstSize: number;
  attackStory: boolean;
  storyOffset: number;
  primaryOwner: string;
  adminActor: string;
  ownAppId: string;
  rateLimit: number;
  rate429: number;
  retryAfter: number;
  error5xx: number;
  htmlError: number;
  slowMs: number;
  hang: number;
  malformedJson: number;
  cursorTtl: number;
  lateRate: number;
  maxLateness: number;
  storm: number;
  timeScale: number;
  adminFail: number;
  admin429: number;
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('run the Slack simulator (Audit Logs API under /audit/v1, admin session API under /api, introspection under /_sim) until SIGINT/SIGTERM')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port (0 = any free port)', num(0, 65535), 0)
    .option('--seed <seed>', 'seed for the synthetic org and its history', '42')
    .option('--token <token>', 'Audit Logs token to accept (default: $SLACK_AUDIT_TOKEN, else a fixed simulator token)')
    .option('--admin-token <token>', 'admin API token to accept (default: $SLACK_ADMIN_TOKEN, else a fixed simulator token)')
    .option('--historical-events <n>', 'events in the history at start', num(0), 2000)
    .option('--history-hours <h>', 'hours of history the events are spread over', num(0), 24)
    .option('--live-rate <perSecond>', 'new events per second while running (0 = no live events)', num(0), 1)
    .option('--burst-size <n>', 'events sharing one second in a burst', num(1), 25)
    .option('--no-attack-story', 'leave out the scripted attack story')
    .option('--story-offset <seconds>', 'story start relative to now (negative = in the past, positive = plays live)', num(-1e9), -900)
    .option('--primary-owner <userId>', 'primary owner (reset answers cannot_reset_primary_owner)', PRIMARY_OWNER_ID)
    .option('--admin-actor <userId>', 'actor of user_session_reset_by_admin entries', ADMIN_ACTOR_ID)
    .option('--own-app-id <appId>', 'context.app.id of entries caused by our resets', OWN_APP_ID)
    .option('--rate-limit <perMinute>', 'Tier 3 token bucket per token (0 = off)', num(0), 50)
    .option('--rate429 <p>', 'fault: probability of a 429', prob, DEFAULT_FAULTS.rate429)
    .option('--retry-after <seconds>', 'fault: Retry-After announced with random 429s', num(0), DEFAULT_FAULTS.retryAfterSeconds)
    .option('--error5xx <p>', 'fault: probability of a 5xx', prob, DEFAULT_FAULTS.error5xxRate)
    .option('--html-error <p>', 'fault: probability of a 502/504 HTML page', prob, DEFAULT_FAULTS.htmlErrorRate)
    .option('--slow-ms <ms>', 'fault: delay added to every /logs response', num(0), DEFAULT_FAULTS.slowMs)
    .option('--hang <p>', 'fault: probability that a request never gets an answer', prob, DEFAULT_FAULTS.hangRate)
    .option('--malformed-json <p>', 'fault: probability of a truncated JSON body', prob, DEFAULT_FAULTS.malformedJsonRate)
    .option('--cursor-ttl <seconds>', 'fault: cursors expire after this long (invalid_cursor); 0 = never', num(0), DEFAULT_FAULTS.cursorTtlSeconds)
    .option('--late-rate <p>', 'fault: probability that a live event is late (date_create in the past)', prob, DEFAULT_FAULTS.lateRate)
    .option('--max-lateness <seconds>', 'fault: how late a late event can be', num(0), DEFAULT_FAULTS.maxLatenessSeconds)
    .option('--storm <seconds>', 'fault: a 429 storm of this length from start', num(0), DEFAULT_FAULTS.stormSeconds)
    .option('--time-scale <factor>', 'divide every announced/enforced duration by this (storms, Retry-After, cursor TTL)', num(0.001), DEFAULT_FAULTS.timeScale)
    .option('--admin-fail <p>', 'fault: probability that a reset answers user_session_reset_failed', prob, DEFAULT_FAULTS.adminFailRate)
    .option('--admin429 <p>', 'fault: probability that an admin call answers 429', prob, DEFAULT_FAULTS.admin429Rate)
    .addHelpText(
      'after',
      '\nIntrospection (no auth): GET /_sim/events, GET /_sim/admin-calls, GET /_sim/stats,\n' +
        'POST /_sim/control {"faults":{...},"faultsOff":true,"stormSeconds":N,"liveRatePerSecond":N,"playAttackStory":true},\n' +
        'POST /_sim/inject {"entries":[...]}.',
    )
    .action(async (flags: SimulateFlags) => {
      const faults: SimFaults = {
        rate429: flags.rate429,
        retryAfterSeconds: flags.retryAfter,
        error5xxRate: flags.error5xx,
        htmlErrorRate: flags.htmlError,
        slowMs: flags.slowMs,
        hangRate: flags.hang,
        malformedJsonRate: flags.malformedJson,
        cursorTtlSeconds: flags.cursorTtl,
        lateRate: flags.lateRate,
        maxLatenessSeconds: flags.maxLateness,
        stormSeconds: flags.storm,
        timeScale: flags.timeScale,
        adminFailRate: flags.adminFail,
        admin429Rate: flags.admin429,
      };
      const opts: SimOptions = {
        host: flags.host,
        port: flags.port,
        seed: flags.seed,
        // Resolved here, not as commander defaults, so --help never prints a real token from the env.
        token: flags.token ?? process.env.SLACK_AUDIT_TOKEN ?? DEFAULT_SIM_TOKEN,
        adminToken: flags.adminToken ?? process.env.SLACK_ADMIN_TOKEN ?? DEFAULT_SIM_ADMIN_TOKEN,
        historicalEvents: flags.historicalEvents,
        historyHours: flags.historyHours,
        liveRatePerSecond: flags.liveRate,
        sameSecondBurstSize: flags.burstSize,
        attackStory: flags.attackStory,
        attackStoryOffsetSeconds: flags.storyOffset,
        primaryOwnerId: flags.primaryOwner,
        adminActorId: flags.adminActor,
        ownAppId: flags.ownAppId,
        rateLimitPerMinute: flags.rateLimit,
        faults,
      };
      const sim = await startSimulator(opts);
      process.stdout.write(`simulator listening on ${sim.url} (audit: ${sim.auditUrl}, api: ${sim.apiUrl})\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await sim.close();
      process.stdout.write('simulator stopped\n');
    });
}
