/**
 * What each key did over the last minutes, for the dashboard's live charts and rate picture: in
 * flight, waitlist size and limit over time, the wait of every start, and start times.
 *
 * The same recorder runs on both sides: the server keeps it for the recently active keys and
 * sends it in each snapshot, the page keeps it from the events it applies, so a page opened or
 * reloaded mid-burst shows what a page open all along shows. Both record the same thing because
 * what is recorded depends on the events alone, never on how they were batched:
 *
 * - a point is the key's state at the end of a `POINT_MS` bucket of server time (stamped with the
 *   time of the key's last event in it), kept only when it differs from the point before;
 * - every start (`token:acquired`, `token:handed-off`) adds its wait and its time.
 *
 * The caller cuts what it records into runs, each within one bucket, and says each key's state at
 * the end of its run: the server after each command (whose events share one instant), the page at
 * each bucket's end within a frame (see `applyEvents`).
 *
 * Mutated in place, and held in columns of numbers (about 50 bytes a point and start, a third of
 * what objects take): thousands of keys each keep hundreds of points, and copying them every frame
 * would cost more than drawing them. Pure otherwise: no clock, no timers, no DOM.
 */
import type { EngineEvent } from './events';
import type { KeySnapshot } from './engine/types';
import type { KeyId } from './engine/units';

/** How much history a key keeps. */
export const KEEP_MS = 5 * 60_000;
/** Points or starts per key before the oldest are dropped (whatever their age). */
export const KEEP_POINTS = 600;
/**
 * One point per key per this much server time: a chart a minute wide gets about one point per
 * pixel, however fast the key changes, and KEEP_POINTS of them cover a busy key's minute.
 */
export const POINT_MS = 100;
/** The latest events a dashboard's log holds, and a snapshot brings. */
export const RECENT_EVENTS = 2000;

/** What the charts draw of a key: a dashboard's key view and the engine's key both have it. */
export type KeyLoad = Pick<KeySnapshot, 'inFlight' | 'waitListSize' | 'parallelism'>;

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

/**
 * One key's history as a snapshot carries it: flat number arrays, times as differences, so a
 * point costs about 12 bytes of JSON and a start about 8.
 */
export interface KeyHistoryWire {
  key: KeyId;
  lastAt: number;
  /**
   * Four numbers per point: its time (the first one's absolute, each next one's after the one
   * before), in flight, waiting, and the limit (-1: none).
   */
  points: number[];
  /** Two numbers per start: its time (coded like the points'), and how long it waited. */
  starts: number[];
}

export interface HistoriesOptions {
  /**
   * Keys held, at most; past it the least recently active key's history is dropped (a page then
   * draws that key from the moment it opens). Unbounded when absent.
   */
  maxKeys?: number;
  /** Drop a key's history once it has had no event for this long. Never when absent. */
  idleMs?: number;
}

const bucket = (t: number) => Math.floor(t / POINT_MS);
const NO_LIMIT = -1;

/**
 * Where the last KEEP_POINTS of `times` younger than KEEP_MS at `now` begin (the caller drops
 * what is before).
 */
function firstKept(times: readonly number[], now: number): number {
  let cut = Math.max(0, times.length - KEEP_POINTS);
  while (cut < times.length && times[cut]! < now - KEEP_MS) cut++;
  return cut;
}

/** Whether `times` (oldest first) hold half as much again as they keep: trimming is batched. */
const overdue = (times: readonly number[], now: number) =>
  times.length > KEEP_POINTS * 1.5 || (times.length > 0 && times[0]! < now - KEEP_MS * 1.5);

/** One key's points and starts, column by column. */
export class KeyHistory {
  /** Point times, server ms. */
  private readonly pointAt: number[] = [];
  private readonly inFlight: number[] = [];
  private readonly waiting: number[] = [];
  /** NO_LIMIT for none. */
  private readonly limit: number[] = [];
  /** Start times (server ms), oldest first, for the rate windows' past starts. */
  readonly starts: number[] = [];
  /** How long each start waited. */
  private readonly waited: number[] = [];

  /** `lastAt`: server time of the key's latest event. */
  constructor(public lastAt: number) {}

  /** The points, oldest first (made on each read: read it at a chart's pace, not per event). */
  get points(): SeriesPoint[] {
    const out: SeriesPoint[] = [];
    for (let i = 0; i < this.pointAt.length; i++) out.push(this.point(i));
    return out;
  }

  /** Every start's wait, oldest first (made on each read, like `points`). */
  get waits(): WaitRecord[] {
    return this.starts.map((at, i) => ({ at, waitedMs: this.waited[i]! }));
  }

  get pointCount(): number {
    return this.pointAt.length;
  }

  /** The last point, if any. */
  last(): SeriesPoint | undefined {
    return this.pointAt.length === 0 ? undefined : this.point(this.pointAt.length - 1);
  }

  private point(i: number): SeriesPoint {
    const limit = this.limit[i]!;
    return {
      t: this.pointAt[i]!,
      inFlight: this.inFlight[i]!,
      waiting: this.waiting[i]!,
      limit: limit === NO_LIMIT ? null : limit,
    };
  }

  private same(i: number, k: KeyLoad): boolean {
    return (
      this.inFlight[i] === k.inFlight &&
      this.waiting[i] === k.waitListSize &&
      this.limit[i] === (k.parallelism ?? NO_LIMIT)
    );
  }

  /** Whether the last point holds `k`'s state. */
  endsWith(k: KeyLoad): boolean {
    return this.pointAt.length > 0 && this.same(this.pointAt.length - 1, k);
  }

  /**
   * The key's state at `t`. Within the last point's bucket it replaces that point (or removes it,
   * when the state is back to the one before); past it, it is added unless nothing changed. So
   * each bucket ends with the state at its end, whether it came in one run or many.
   */
  record(k: KeyLoad, t: number): void {
    const n = this.pointAt.length;
    if (n > 0 && bucket(this.pointAt[n - 1]!) === bucket(t)) {
      this.dropPoints(n - 1, n);
      if (n > 1 && this.same(n - 2, k)) return;
    } else if (n > 0 && this.same(n - 1, k)) {
      return;
    }
    this.pointAt.push(t);
    this.inFlight.push(k.inFlight);
    this.waiting.push(k.waitListSize);
    this.limit.push(k.parallelism ?? NO_LIMIT);
    if (overdue(this.pointAt, t)) this.dropPoints(0, firstKept(this.pointAt, t));
  }

  /** A start at `at` that waited `waitedMs`. */
  started(at: number, waitedMs: number): void {
    this.starts.push(at);
    this.waited.push(waitedMs);
    if (overdue(this.starts, at)) this.dropStarts(0, firstKept(this.starts, at));
  }

  private dropPoints(from: number, to: number): void {
    for (const column of [this.pointAt, this.inFlight, this.waiting, this.limit])
      column.splice(from, to - from);
  }

  private dropStarts(from: number, to: number): void {
    this.starts.splice(from, to - from);
    this.waited.splice(from, to - from);
  }

  /** What a snapshot carries of it: younger than KEEP_MS at `now` (the point in force stays). */
  toWire(key: KeyId, now: number): KeyHistoryWire {
    const points: number[] = [];
    let prev = 0;
    const first = Math.min(firstKept(this.pointAt, now), this.pointAt.length - 1);
    for (let i = Math.max(0, first); i < this.pointAt.length; i++) {
      const t = this.pointAt[i]!;
      points.push(t - prev, this.inFlight[i]!, this.waiting[i]!, this.limit[i]!);
      prev = t;
    }
    const starts: number[] = [];
    prev = 0;
    for (let i = firstKept(this.starts, now); i < this.starts.length; i++) {
      const at = this.starts[i]!;
      starts.push(at - prev, this.waited[i]!);
      prev = at;
    }
    return { key, lastAt: this.lastAt, points, starts };
  }

  static fromWire(w: KeyHistoryWire): KeyHistory {
    const h = new KeyHistory(w.lastAt);
    let t = 0;
    for (let i = 0; i + 3 < w.points.length; i += 4) {
      t += w.points[i]!;
      h.pointAt.push(t);
      h.inFlight.push(w.points[i + 1]!);
      h.waiting.push(w.points[i + 2]!);
      h.limit.push(w.points[i + 3]! < 0 ? NO_LIMIT : w.points[i + 3]!);
    }
    t = 0;
    for (let i = 0; i + 1 < w.starts.length; i += 2) {
      t += w.starts[i]!;
      h.starts.push(t);
      h.waited.push(w.starts[i + 1]!);
    }
    return h;
  }
}

/** Every key's history, keyed by key name, least recently active first. */
export class Histories {
  private readonly keys = new Map<string, KeyHistory>();
  private readonly maxKeys: number;
  private readonly idleMs: number;

  constructor(options: HistoriesOptions = {}) {
    this.maxKeys = options.maxKeys ?? Infinity;
    this.idleMs = options.idleMs ?? Infinity;
  }

  /** The key's history, or undefined when nothing of it was recorded. */
  get(key: string): KeyHistory | undefined {
    return this.keys.get(key);
  }

  get size(): number {
    return this.keys.size;
  }

  /** Key names, least recently active first. */
  names(): IterableIterator<string> {
    return this.keys.keys();
  }

  /**
   * Records a run of events (in `seq` order, all within one POINT_MS bucket) and, for each key
   * they name, its state after them (`loadOf`; undefined for a key that is gone). A key the engine
   * forgot loses its history: a later message brings it back as a new key.
   */
  recordRun(events: readonly EngineEvent[], loadOf: (key: KeyId) => KeyLoad | undefined): void {
    if (events.length === 0) return;
    const touched = new Map<KeyId, number>();
    for (const e of events) {
      if (e.type === 'key:forgotten') {
        this.keys.delete(e.key);
        touched.delete(e.key);
        continue;
      }
      // Last touched last, so the keys end in the order their latest events came.
      touched.delete(e.key);
      touched.set(e.key, e.at);
      if (e.type === 'token:acquired' || e.type === 'token:handed-off') {
        this.history(e.key, e.at).started(e.at, e.waitedMs);
      }
    }
    for (const [key, at] of touched) {
      const load = loadOf(key);
      // The global pseudo-key of `global:configured`, say: nothing to chart.
      if (load === undefined) continue;
      this.history(key, at).record(load, at);
    }
    this.forgetIdle(events[events.length - 1]!.at);
  }

  /**
   * Gives each key of `keys` a point at `at` unless its history already ends with its state: a
   * key whose history was not kept (idle, or past `maxKeys` on the server) is drawn from now on.
   */
  ensurePoints(keys: Readonly<Record<string, KeyLoad>>, at: number): void {
    for (const [name, k] of Object.entries(keys)) {
      const h = this.keys.get(name);
      if (h?.endsWith(k)) continue;
      (h ?? this.history(name, at)).record(k, at);
    }
  }

  /** The history the server sent replaces everything held: a restarted server has none. */
  replaceWith(wire: readonly KeyHistoryWire[]): void {
    this.keys.clear();
    // The wire lists the most recently active first; the map holds them the other way round.
    for (let i = wire.length - 1; i >= 0; i--) {
      const w = wire[i]!;
      this.keys.set(w.key, KeyHistory.fromWire(w));
    }
  }

  /**
   * Every key's history younger than KEEP_MS at `now` (at most KEEP_POINTS points and starts
   * each), most recently active first, as a snapshot carries it.
   */
  toWire(now: number): KeyHistoryWire[] {
    const out: KeyHistoryWire[] = [];
    for (const [key, h] of this.keys) {
      const w = h.toWire(key as KeyId, now);
      if (w.points.length + w.starts.length > 0) out.push(w);
    }
    return out.reverse();
  }

  /** Drops the least recently active keys past `maxKeys`, and those idle longer than `idleMs`. */
  forgetIdle(now: number): void {
    for (const [key, h] of this.keys) {
      if (this.keys.size <= this.maxKeys && h.lastAt >= now - this.idleMs) return;
      this.keys.delete(key);
    }
  }

  private history(key: string, at: number): KeyHistory {
    let h = this.keys.get(key);
    if (h === undefined) {
      h = new KeyHistory(at);
    } else {
      // Re-inserted, so the map stays in order of activity and eviction takes from its front.
      this.keys.delete(key);
    }
    h.lastAt = Math.max(h.lastAt, at);
    this.keys.set(key, h);
    return h;
  }
}
