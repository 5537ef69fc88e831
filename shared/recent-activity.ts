/**
 * What the dashboard showed lately, kept by the server so a snapshot can bring it: each recently
 * active key's history (the very recorder the page runs, history.ts) and the latest events, for
 * the log. A page opened or reloaded mid-burst then draws the charts, the rate windows' past
 * starts and the log as a page open all along draws them.
 *
 * Bounded whatever the load, and nothing per waiting message: at most MAX_KEYS keys, each with at
 * most 1.5 × KEEP_POINTS points and starts (one point per key per POINT_MS, not per event), none
 * older than KEEP_MS once it has had events since, and a ring of RECENT_EVENTS events. Cheap per
 * command: the counts come from the events (key-loads.ts), not from a read of the store.
 */
import type { EngineEvent } from './events';
import { Histories, KEEP_MS, RECENT_EVENTS, type KeyHistoryWire, type KeyLoad } from './history';
import { KeyLoads } from './key-loads';
import type { KeyId } from './engine/units';

/**
 * Keys whose history is kept: the most recently active. Past it, the least recently active key's
 * history goes, and a page opened later draws that key from its snapshot on, as it draws a key
 * idle longer than KEEP_MS. A page shows a few keys in full (the three it follows, or those
 * picked), so this is ample; it bounds the worst case, every key held busy at every bucket for a
 * minute, to about 6.5 MB of memory and 1.2 MB of snapshot (recent-activity.test.ts measures it).
 */
export const MAX_KEYS = 100;

export interface RecentOptions {
  maxKeys?: number;
  /** Events kept for the log (RECENT_EVENTS by default, what the page's log holds). */
  events?: number;
}

/** The history and the latest events, fed with every command's events. */
export class RecentActivity {
  private readonly histories: Histories;
  private readonly loads: KeyLoads;
  private readonly ring: (EngineEvent | undefined)[];
  /** Where the next event goes in `ring`. */
  private next = 0;
  private lastSeq = 0;

  /**
   * `read` answers a key's counts from the store as they stand (after the events being recorded),
   * or undefined when it cannot answer at once; it is asked only for a key that becomes active.
   */
  constructor(read: (key: KeyId) => KeyLoad | undefined, options: RecentOptions = {}) {
    this.histories = new Histories({ maxKeys: options.maxKeys ?? MAX_KEYS, idleMs: KEEP_MS });
    this.loads = new KeyLoads(read);
    this.ring = new Array<EngineEvent | undefined>(options.events ?? RECENT_EVENTS);
  }

  /**
   * One command's events, right after the command (they share its instant, so they are one run
   * of the history), in `seq` order; events already recorded are skipped.
   */
  record(events: readonly EngineEvent[]): void {
    let from = 0;
    while (from < events.length && events[from]!.seq <= this.lastSeq) from++;
    if (from === events.length) return;
    const run = from === 0 ? events : events.slice(from);
    if (this.ring.length > 0) {
      for (const e of run) {
        this.ring[this.next] = e;
        this.next = (this.next + 1) % this.ring.length;
      }
    }
    this.lastSeq = run[run.length - 1]!.seq;
    this.loads.apply(run);
    this.histories.recordRun(run, (key) => this.loads.load(key));
    // Counts are followed for the keys whose history is kept, no more.
    if (this.loads.size > this.histories.size) {
      this.loads.retain((key) => this.histories.get(key) !== undefined);
    }
  }

  /** The latest events up to `seq` (a snapshot's), oldest first. */
  events(seq = Infinity): EngineEvent[] {
    const out: EngineEvent[] = [];
    for (let i = 0; i < this.ring.length; i++) {
      const e = this.ring[(this.next + i) % this.ring.length];
      if (e !== undefined && e.seq <= seq) out.push(e);
    }
    return out;
  }

  /** Each recently active key's history at `now`, most recently active first. */
  history(now: number): KeyHistoryWire[] {
    this.histories.forgetIdle(now);
    return this.histories.toWire(now);
  }

  /** Keys whose history is held. */
  get keys(): number {
    return this.histories.size;
  }
}
