/**
 * What each key did over the last minutes, for the live charts and the rate picture: in flight,
 * waitlist size and limit over time, the wait of every start, and start times.
 *
 * Unlike the rest of the store this is mutated in place: thousands of keys each keep hundreds of
 * points, and copying them every frame would cost more than drawing them. The store bumps a
 * version number when it records, and the charts read at their own, slower pace.
 */
import type { EngineEvent } from '../../shared/events';
import type { KeyView } from './flow-types';

/** How much history a key keeps. */
export const KEEP_MS = 5 * 60_000;
/** Points or samples per key before the oldest are dropped (whatever their age). */
export const KEEP_POINTS = 600;

export interface SeriesPoint {
  /** Server time, ms. */
  t: number;
  inFlight: number;
  waiting: number;
  /** The parallelism limit then (null: none). */
  limit: number | null;
}

export interface WaitRecord {
  at: number;
  waitedMs: number;
}

export interface KeyHistory {
  points: SeriesPoint[];
  waits: WaitRecord[];
  /** Start times (server ms), for the rate windows' past starts. */
  starts: number[];
}

/** Drops what is too old or too many, in batches, so trimming is amortized over many appends. */
function trim<T>(xs: T[], time: (x: T) => number, now: number): void {
  if (xs.length <= KEEP_POINTS * 1.5 && (xs.length === 0 || time(xs[0]!) >= now - KEEP_MS * 1.5))
    return;
  let cut = Math.max(0, xs.length - KEEP_POINTS);
  while (cut < xs.length && time(xs[cut]!) < now - KEEP_MS) cut++;
  xs.splice(0, cut);
}

function sameAsLast(points: SeriesPoint[], k: KeyView): boolean {
  const last = points[points.length - 1];
  return (
    last !== undefined &&
    last.inFlight === k.inFlight &&
    last.waiting === k.waitListSize &&
    last.limit === k.parallelism
  );
}

/** Every key's history, keyed by key name. */
export class Histories {
  private readonly keys = new Map<string, KeyHistory>();

  /** The key's history, or undefined when the page has seen nothing of it. */
  get(key: string): KeyHistory | undefined {
    return this.keys.get(key);
  }

  get size(): number {
    return this.keys.size;
  }

  private history(key: string): KeyHistory {
    let h = this.keys.get(key);
    if (h === undefined) {
      h = { points: [], waits: [], starts: [] };
      this.keys.set(key, h);
    }
    return h;
  }

  private point(key: string, k: KeyView, t: number): void {
    const h = this.history(key);
    if (sameAsLast(h.points, k)) return;
    h.points.push({ t, inFlight: k.inFlight, waiting: k.waitListSize, limit: k.parallelism });
    trim(h.points, (p) => p.t, t);
  }

  /**
   * A snapshot replaced the state: keys it does not hold are gone (a restarted server starts
   * empty), and every key it holds gets a point at the snapshot's time.
   */
  recordSnapshot(keys: Record<string, KeyView>, at: number): void {
    for (const name of [...this.keys.keys()]) if (keys[name] === undefined) this.keys.delete(name);
    for (const [name, k] of Object.entries(keys)) this.point(name, k, at);
  }

  /** One applied frame: the starts' waits, then one point per key the frame touched. */
  recordFrame(keys: Record<string, KeyView>, events: readonly EngineEvent[]): void {
    const touched = new Map<string, number>();
    for (const e of events) {
      touched.set(e.key, e.at);
      if (e.type === 'token:acquired' || e.type === 'token:handed-off') {
        const h = this.history(e.key);
        h.waits.push({ at: e.at, waitedMs: e.waitedMs });
        h.starts.push(e.at);
        trim(h.waits, (w) => w.at, e.at);
        trim(h.starts, (t) => t, e.at);
      }
    }
    for (const [name, at] of touched) {
      const k = keys[name];
      if (k !== undefined) this.point(name, k, at);
    }
  }
}
