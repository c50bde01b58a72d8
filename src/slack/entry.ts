import { z } from 'zod';

/**
 * Tolerant boundary schema for one Audit Logs entry (../shared/slack-api.md §1.6). Only what we key on is
 * required (`id`, `date_create`, `action`); everything else is optional and unknown keys pass through
 * untouched (`.loose()`), because Slack adds actions, entity types and fields without notice.
 */
const userRef = z.object({ id: z.string().optional(), name: z.string().nullish(), email: z.string().nullish(), team: z.string().nullish() }).loose();

export const auditEntrySchema = z
  .object({
    id: z.string().min(1),
    date_create: z.number().int().nonnegative(),
    action: z.string().min(1),
    actor: z.object({ type: z.string().optional(), user: userRef.optional() }).loose().nullish(),
    entity: z.object({ type: z.string().optional() }).loose().nullish(),
    context: z
      .object({
        location: z.object({ type: z.string().nullish(), id: z.string().nullish(), name: z.string().nullish(), domain: z.string().nullish() }).loose().nullish(),
        ua: z.string().nullish(),
        ip_address: z.string().nullish(),
        session_id: z.union([z.number(), z.string()]).nullish(),
        app: z.object({}).loose().nullish(),
      })
      .loose()
      .nullish(),
    details: z.record(z.string(), z.unknown()).nullish(),
  })
  .loose();

export type AuditEntry = z.infer<typeof auditEntrySchema>;

/** A raw entry as it came off the wire, before the boundary check (kept verbatim for event.original and the DLQ). */
export type RawEntry = Record<string, unknown>;
