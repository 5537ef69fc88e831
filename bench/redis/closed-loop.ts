/**
 * W5's measurement: `callers` callers in a closed loop on one limited key, each taking a slot,
 * giving it back at once and asking again, for `windowMs`. What a slot is depends on the
 * implementation (a Baton delivery through the Redis store, a redis-semaphore lock, a Bottleneck
 * job); the loop, the clock and the statistics are the same for all.
 */

/** Takes one slot; resolves with the function that gives it back. */
export type Acquire = () => Promise<() => Promise<void>>;

export interface ClosedLoopResult {
  /** Slots taken and given back in the window, per second. */
  cyclesPerSecond: number;
  /** Cycles of each caller in the window. */
  perCaller: number[];
  /** Milliseconds from asking for a slot to having it, of every cycle in the window. */
  waits: number[];
  windowMs: number;
}

/** The nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/**
 * Runs the loop: `warmupMs` unmeasured, then `windowMs` measured; every caller then finishes its
 * cycle and stops. A cycle counts in the window when it began and ended inside it.
 */
export async function closedLoop(
  acquire: Acquire,
  { callers, warmupMs, windowMs }: { callers: number; warmupMs: number; windowMs: number },
): Promise<ClosedLoopResult> {
  const t0 = performance.now();
  const from = t0 + warmupMs;
  const to = from + windowMs;
  const perCaller = new Array<number>(callers).fill(0);
  // Waits go into fixed chunks rather than one growing array: each time an array grows it is
  // copied, and the copy, live, survives the young-generation GC under way, a pause every cycle
  // in progress absorbs (the same for every implementation, but not the implementation's own).
  const CHUNK = 1 << 16;
  const chunks: Float64Array[] = [];
  let chunk = new Float64Array(0);
  let used = 0;
  async function caller(i: number) {
    for (;;) {
      const asked = performance.now();
      if (asked >= to) return;
      const release = await acquire();
      const got = performance.now();
      await release();
      if (asked >= from && performance.now() <= to) {
        perCaller[i]!++;
        if (used === chunk.length) {
          chunk = new Float64Array(CHUNK);
          chunks.push(chunk);
          used = 0;
        }
        chunk[used++] = got - asked;
      }
    }
  }
  await Promise.all(Array.from({ length: callers }, (_, i) => caller(i)));
  const total = perCaller.reduce((a, b) => a + b, 0);
  const waits: number[] = [];
  for (const c of chunks)
    for (let j = 0; j < (c === chunk ? used : c.length); j++) waits.push(c[j]!);
  return { cyclesPerSecond: total / (windowMs / 1000), perCaller, waits, windowMs };
}
