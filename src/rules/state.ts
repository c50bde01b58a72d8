/**
 * Rule state, behind an interface so the evaluation core stays pure and testable. Two implementations:
 * MemoryRuleState (unit tests, `rules test`) and RedisRuleState (state-redis.ts, the worker).
 *
 * Every write is idempotent under re-delivery: occurrences are set members keyed by the event id (never a
 * bare counter), and a new-value sighting remembers which event introduced it, so the same event delivered
 * twice yields the same answer and the same (deterministic) alert.
 */

/** One occurrence: `member` is the event id (or `value\u001feventId` for distinct counts), `ts` the event time. */
export interface Occurrence {
  member: string;
  ts: number;
}

export interface OccurrenceWrite extends Occurrence {
  key: string;
  /** How long (in event time, behind this event) the key must keep members; older ones are trimmed. */
  retentionMs: number;
}

export interface OccurrenceRange {
  key: string;
  /** Inclusive event-time bounds, Unix ms. */
  from: number;
  to: number;
}

export interface NewValueCheck {
  key: string;
  value: string;
  ts: number;
  eventId: string;
  lookbackMs: number;
}

export interface NewValueResult {
  /** First sighting of the value for this group within the lookback (or a re-delivery of that first event). */
  isNew: boolean;
  /** The group had other history when the value first appeared (false while a group is still learning). */
  hadHistory: boolean;
}

export interface RuleState {
  addOccurrences(writes: readonly OccurrenceWrite[]): Promise<void>;
  /** Members of each key within the range, sorted by time, at most `OCCURRENCE_CAP` each. */
  rangeOccurrences(ranges: readonly OccurrenceRange[]): Promise<Occurrence[][]>;
  /** Checked (and recorded) in order, so two sightings in one batch see each other. */
  checkNewValues(checks: readonly NewValueCheck[]): Promise<NewValueResult[]>;
}

/** Bound on the members kept per key (per rule, step and group): memory stays bounded whatever the traffic. */
export const OCCURRENCE_CAP = 5000;
/** Bound on distinct values remembered per new_value group. */
export const NEW_VALUE_CAP = 2000;

export function sortOccurrences(list: Occurrence[]): Occurrence[] {
  return list.sort((a, b) => a.ts - b.ts || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
}

interface SeenValue {
  last: number;
  firstEventId: string;
  alertable: boolean;
}

/** In-process state with the same semantics as the Redis one (no TTLs; caps apply). */
export class MemoryRuleState implements RuleState {
  private readonly occ = new Map<string, Map<string, number>>();
  private readonly seen = new Map<string, Map<string, SeenValue>>();
  private readonly origin = new Map<string, string>();

  addOccurrences(writes: readonly OccurrenceWrite[]): Promise<void> {
    for (const w of writes) {
      let m = this.occ.get(w.key);
      if (!m) {
        m = new Map<string, number>();
        this.occ.set(w.key, m);
      }
      m.set(w.member, w.ts);
      for (const [member, ts] of m) if (ts < w.ts - w.retentionMs) m.delete(member);
      if (m.size > OCCURRENCE_CAP) {
        const sorted = sortOccurrences([...m].map(([member, ts]) => ({ member, ts })));
        for (const o of sorted.slice(0, m.size - OCCURRENCE_CAP)) m.delete(o.member);
      }
    }
    return Promise.resolve();
  }

  rangeOccurrences(ranges: readonly OccurrenceRange[]): Promise<Occurrence[][]> {
    return Promise.resolve(
      ranges.map((r) => {
        const m = this.occ.get(r.key);
        if (!m) return [];
        const out: Occurrence[] = [];
        for (const [member, ts] of m) if (ts >= r.from && ts <= r.to) out.push({ member, ts });
        return sortOccurrences(out).slice(0, OCCURRENCE_CAP);
      }),
    );
  }

  checkNewValues(checks: readonly NewValueCheck[]): Promise<NewValueResult[]> {
    return Promise.resolve(
      checks.map((c) => {
        let m = this.seen.get(c.key);
        if (!m) {
          m = new Map<string, SeenValue>();
          this.seen.set(c.key, m);
        }
        if (!this.origin.has(c.key)) this.origin.set(c.key, c.eventId);
        const rec = m.get(c.value);
        if (rec && rec.firstEventId === c.eventId) return { isNew: true, hadHistory: rec.alertable };
        if (!rec || rec.last < c.ts - c.lookbackMs) {
          // History means an earlier event of the group, not another value of this same event.
          const hadHistory = this.origin.get(c.key) !== c.eventId;
          m.set(c.value, { last: Math.max(rec?.last ?? c.ts, c.ts), firstEventId: c.eventId, alertable: hadHistory });
          if (m.size > NEW_VALUE_CAP) {
            const oldest = [...m].sort((a, b) => a[1].last - b[1].last)[0];
            if (oldest) m.delete(oldest[0]);
          }
          return { isNew: true, hadHistory };
        }
        if (rec.last < c.ts) rec.last = c.ts;
        return { isNew: false, hadHistory: true };
      }),
    );
  }
}
