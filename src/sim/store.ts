import type { RawEntry } from '../slack/entry.js';

/**
 * The simulator's event log, kept sorted by (date_create, arrival seq) ascending so that live events append
 * at the end and late ones are inserted where their date puts them. `/logs` reads it backwards (newest first).
 *
 * A page position is (date_create, seq) of the last entry served. Positions are stable while events arrive:
 * new live events sort after any position (they are newer), and a late event lands wherever its date says,
 * possibly above a position that was already passed: exactly why the collector re-scans (§1.10).
 */

export interface StoredEvent {
  entry: RawEntry;
  /** The entry as served (JSON), made once when stored: a stored entry never changes, as in Slack's log. */
  json: string;
  date: number;
  seq: number;
  action: string;
  actorId: string | undefined;
  entityId: string | undefined;
}

export interface Position {
  date: number;
  seq: number;
}

export interface StoreQuery {
  oldest: number;
  latest: number;
  limit: number;
  actions: ReadonlySet<string> | undefined;
  actor: string | undefined;
  entity: string | undefined;
  /** Serve entries strictly after this position in newest-first order. */
  after: Position | undefined;
}

export interface StoreResult {
  entries: RawEntry[];
  /** The same entries, serialized (what `/logs` writes). */
  json: string[];
  /** Position of the last entry served, when more matching entries remain. */
  next: Position | undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export function entityIdOf(entry: RawEntry): string | undefined {
  const entity = obj(entry.entity);
  const type = str(entity?.type);
  return type === undefined ? undefined : str(obj(entity?.[type])?.id);
}

export function actorIdOf(entry: RawEntry): string | undefined {
  return str(obj(obj(entry.actor)?.user)?.id);
}

export class EventStore {
  private readonly items: StoredEvent[] = [];
  /** Every id in production order (for introspection), including late and injected ones. */
  readonly producedIds: string[] = [];
  private nextSeq = 1;

  get size(): number {
    return this.items.length;
  }

  /** Newest date_create stored, or undefined when empty. */
  get newestDate(): number | undefined {
    return this.items[this.items.length - 1]?.date;
  }

  add(entry: RawEntry): StoredEvent {
    const date = typeof entry.date_create === 'number' ? Math.floor(entry.date_create) : 0;
    const ev: StoredEvent = { entry, json: JSON.stringify(entry), date, seq: this.nextSeq++, action: str(entry.action) ?? '', actorId: actorIdOf(entry), entityId: entityIdOf(entry) };
    // Its seq is the highest, so it goes after every entry of its own second.
    const last = this.items[this.items.length - 1];
    if (last === undefined || last.date <= date) this.items.push(ev);
    else this.items.splice(this.upperBoundDate(date), 0, ev);
    if (typeof entry.id === 'string') this.producedIds.push(entry.id);
    return ev;
  }

  all(): readonly StoredEvent[] {
    return this.items;
  }

  /** First index whose date is > `date`. */
  private upperBoundDate(date: number): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.items[mid]?.date ?? 0) <= date) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index whose (date, seq) is >= pos. */
  private lowerBoundPos(pos: Position): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const it = this.items[mid];
      if (it !== undefined && (it.date < pos.date || (it.date === pos.date && it.seq < pos.seq))) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Newest-first page. Takes `limit` matching entries, then keeps going while the next match shares the
   * last one's second, so a page never ends inside a second (Slack's "may exceed limit" behaviour).
   */
  query(q: StoreQuery): StoreResult {
    const matches = (ev: StoredEvent): boolean =>
      (q.actions === undefined || q.actions.has(ev.action)) && (q.actor === undefined || ev.actorId === q.actor) && (q.entity === undefined || ev.entityId === q.entity);
    let i = (q.after === undefined ? this.upperBoundDate(q.latest) : Math.min(this.lowerBoundPos(q.after), this.upperBoundDate(q.latest))) - 1;
    const page: StoredEvent[] = [];
    for (; i >= 0; i--) {
      const ev = this.items[i];
      if (ev === undefined || ev.date < q.oldest) break;
      if (!matches(ev)) continue;
      const lastDate = page[page.length - 1]?.date;
      if (page.length >= q.limit && ev.date !== lastDate) break;
      page.push(ev);
    }
    // More to come only if some further entry in range matches.
    let more = false;
    for (; i >= 0; i--) {
      const ev = this.items[i];
      if (ev === undefined || ev.date < q.oldest) break;
      if (matches(ev)) {
        more = true;
        break;
      }
    }
    const last = page[page.length - 1];
    return { entries: page.map((ev) => ev.entry), json: page.map((ev) => ev.json), next: more && last ? { date: last.date, seq: last.seq } : undefined };
  }
}
