/**
 * The scripted attack story for the demo and the e2e tests, as constants other modules can import.
 * One victim gets an `anomaly` (Tor exit + session fingerprint), then mass-downloads files. A protected
 * admin and the primary owner are hit the same way, so the guards (protected list, cannot_reset_primary_owner)
 * get exercised too.
 */
export const ENTERPRISE_ID = 'E0SIMORG01';
export const VICTIM_USER_ID = 'W0VICTIM01';
export const PROTECTED_ADMIN_ID = 'W0PROTADM1';
export const PRIMARY_OWNER_ID = 'W0PRIMOWN1';
/** The org admin whose token the pipeline's admin client uses; actor of the resets it triggers. */
export const ADMIN_ACTOR_ID = 'W0SECADM01';
/** The pipeline's own Slack app: resets it triggers carry context.app.id = this. */
export const OWN_APP_ID = 'A0SLACKAUDIT';
/** A bot user: admin.users.session.reset answers cannot_reset_bot for it. */
export const BOT_USER_ID = 'W0BOTUSR01';
export const STORY_TOR_IP = '185.220.101.47';
export const STORY_ANOMALY_REASONS = ['tor', 'session_fingerprint'] as const;

export interface StoryTarget {
  userId: string;
  /** Seconds after the story start at which this target's anomaly fires. */
  anomalyAtSeconds: number;
}

export const ATTACK_STORY = {
  /** Default story start relative to the simulator start: in the recent past, so a fresh collector reads it all. */
  defaultStartOffsetSeconds: -900,
  targets: [
    { userId: VICTIM_USER_ID, anomalyAtSeconds: 0 },
    { userId: PROTECTED_ADMIN_ID, anomalyAtSeconds: 120 },
    { userId: PRIMARY_OWNER_ID, anomalyAtSeconds: 240 },
  ] satisfies StoryTarget[],
  /** First download comes this many seconds after the target's anomaly. */
  downloadsStartAfterSeconds: 20,
  /** More than 60 downloads within 10 minutes: the mass-download rule's threshold. */
  downloadsPerTarget: 65,
  downloadSpanSeconds: 480,
} as const;

/** Seconds from story start to the last story event. */
export const ATTACK_STORY_DURATION_SECONDS =
  Math.max(...ATTACK_STORY.targets.map((t) => t.anomalyAtSeconds)) + ATTACK_STORY.downloadsStartAfterSeconds + ATTACK_STORY.downloadSpanSeconds;
