/**
 * Work a class starts outside any request (a timer firing, a poll of the records): `Background`
 * keeps what is under way, so `settled` can wait for it and a failure reaches `warn` rather than
 * crashing the process; `Poller` reads a collection and arms timers for what it read, again
 * every while on records other servers change too (schedules' ticks, waits' timeouts).
 */
import { attempt, type MaybePromise } from '../store/flow-store';
import type { Timers } from './types';

export class Background {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly warn: (msg: string, err: unknown) => void) {}

  /** Runs `run`; a failure, thrown or rejected, is told to `warn` as `what`. */
  track(what: string, run: () => MaybePromise<unknown>): void {
    const value = attempt(
      run,
      () => {},
      (err) => this.warn(what, err),
    );
    if (!(value instanceof Promise)) return;
    const p = value.finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Resolves once nothing tracked is under way (including what it started meanwhile). */
  settled(): MaybePromise<void> {
    if (this.pending.size === 0) return;
    return Promise.all(this.pending).then(() => this.settled());
  }
}

export interface PollerOptions<T> {
  timers: Timers;
  /** Poll again every `everyMs` (records other servers change), or only once at start. */
  repeat: boolean;
  everyMs: number;
  /** What a failed read is told to `warn` as. */
  what: string;
  background: Background;
  list: () => MaybePromise<T[]>;
  /** A counter bumped at each local change: `sync` leaves alone what changed after `since`. */
  version: () => number;
  sync: (docs: T[], since: number) => void;
}

export class Poller<T> {
  private handle: unknown = undefined;
  private closed = false;

  constructor(private readonly o: PollerOptions<T>) {}

  /** Reads now (and, when it repeats, every `everyMs` after). */
  start(): void {
    this.poll();
  }

  close(): void {
    this.closed = true;
    if (this.handle !== undefined) this.o.timers.clear(this.handle);
    this.handle = undefined;
  }

  private poll(): void {
    this.handle = undefined;
    if (this.closed) return;
    const since = this.o.version();
    this.o.background.track(this.o.what, () =>
      attempt(
        () => this.o.list(),
        (docs) => {
          if (!this.closed) this.o.sync(docs, since);
          this.next();
        },
        (err) => {
          this.next();
          throw err;
        },
      ),
    );
  }

  private next(): void {
    if (this.o.repeat && !this.closed)
      this.handle = this.o.timers.set(() => this.poll(), this.o.everyMs);
  }
}
