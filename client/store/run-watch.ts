/**
 * Follows one published run in the store's live events: every event of its key from the moment it
 * starts (a message's first events can arrive before the publish call has answered with its id),
 * then only those of the run's ids once they are known. It reads each applied frame's events
 * (`activity.frameEvents`, which the animation layer reads too) and changes nothing in the store.
 */
import type { AppStore } from './app-store';
import {
  TimelineBuilder,
  summarize,
  type RequestTimeline,
  type RunSummary,
} from '../viz/run-timeline';

/** Messages of the key recorded at most while the run's ids are not known yet. */
const MAX_UNCLAIMED = 20_000;

export interface RunView {
  ids: readonly string[];
  /** Server time of the run's first acceptance; null before any. */
  origin: number | null;
  /** One per id, in publish order; undefined while its acceptance has not been seen. */
  rows: readonly (RequestTimeline | undefined)[];
  summary: RunSummary;
  /** Every planned message was published and has ended. */
  done: boolean;
  /** Some of the run's events were missed (the page took a snapshot meanwhile): it may never be done. */
  lost: boolean;
}

export class RunWatch {
  private readonly builder = new TimelineBuilder();
  private ids: readonly string[] = [];
  private wanted: Set<string> | null = null;
  private cached: RunView | null = null;
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastNotified = 0;
  private unsubscribe: (() => void) | null;
  private lost = false;

  /**
   * Starts recording `key`'s events; `expected` messages will be published. Listeners hear of
   * changes at most every `intervalMs`.
   */
  constructor(
    store: AppStore,
    readonly key: string,
    private expected: number,
    private readonly intervalMs = 200,
  ) {
    this.unsubscribe = store.subscribe((s, prev) => {
      if (s.flow.seq > prev.flow.seq && !this.lost) {
        // A snapshot (after a gap, or a reconnection) moves the state on without the events in
        // between: whatever of the run happened there was not seen.
        const first = s.activity === prev.activity ? undefined : s.activity.frameEvents[0];
        if (first === undefined || first.seq > prev.flow.seq + 1) {
          this.lost = true;
          this.changed();
        }
      }
      if (s.activity === prev.activity) return;
      let changed = false;
      for (const e of s.activity.frameEvents) {
        if (e.key !== key) continue;
        const id = 'messageId' in e ? e.messageId : e.type === 'token:handed-off' ? e.to : null;
        if (id === null) continue;
        if (
          this.wanted !== null
            ? !this.wanted.has(id)
            : this.builder.size >= MAX_UNCLAIMED && !this.builder.has(id)
        )
          continue;
        this.builder.add(e);
        changed = true;
      }
      if (changed) this.changed();
    });
  }

  /**
   * The run's ids so far, in publish order; `final` once publishing is over (a run stopped early
   * is done when the messages it did send have ended).
   */
  setIds(ids: readonly string[], final = false): void {
    this.ids = ids;
    if (final) this.expected = ids.length;
    this.wanted = new Set(ids);
    this.changed();
  }

  /** The run as seen so far; the same object until something changes. */
  view(): RunView {
    if (this.cached !== null) return this.cached;
    const origin = this.builder.firstArrival(this.ids);
    const rows = this.ids.map((id) => (origin === null ? undefined : this.builder.row(id, origin)));
    const seen = rows.filter((r): r is RequestTimeline => r !== undefined);
    const summary = summarize(seen, this.expected);
    const done = this.ids.length === this.expected && summary.totalMs !== null;
    this.cached = { ids: this.ids, origin, rows, summary, done, lost: this.lost && !done };
    if (done) this.stop();
    return this.cached;
  }

  /** For `useSyncExternalStore`. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Stops following the run (the page moved on); the view keeps what was seen. */
  close(): void {
    this.stop();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  private stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private changed(): void {
    this.cached = null;
    if (this.timer !== null) return;
    // Leading and trailing: the first change shows at once, later ones at most every interval.
    const wait = this.lastNotified + this.intervalMs - Date.now();
    const fire = () => {
      this.timer = null;
      this.lastNotified = Date.now();
      for (const l of this.listeners) l();
    };
    if (wait <= 0) fire();
    else this.timer = setTimeout(fire, wait);
  }
}
