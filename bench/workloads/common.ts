/**
 * What every workload shares: the result shape, the clock and statistics helpers, and the Baton
 * harness — the engine driven exactly as the server drives it (FlowController, real clock, real
 * timers, one cheap event listener), so the numbers are the server's, not a bare engine's.
 */
import { MemoryStore } from '../../server/store/memory-store';
import { keyId, messageId } from '../../shared/engine/units';
import { FlowController } from '../../server/flow/controller';
import { systemClock, type Deliverer } from '../../server/flow/types';

/** The implementations compared. Baton first: the table reads as "us, then the peers". */
export const IMPLS = ['baton', 'p-limit', 'bottleneck'] as const;
export type Impl = (typeof IMPLS)[number];

/** One measured number; `bench/results.json` is an array of these. */
export interface Measurement {
  workload: string;
  impl: Impl;
  metric: string;
  value: number;
}

/** Metrics that say how much was measured (the table's count column) rather than how well. */
export const COUNT_METRICS = ['tasks', 'waiting', 'handoffs'];

/** The prefix of the one stdout line of a child (`child.ts`) that carries its measurements. */
export const RESULT_PREFIX = 'RESULT ';

/** Sizes a workload runs at; each workload reads the fields it needs. */
export interface Sizes {
  /** Tasks (W1, W3, W4) or keys (W2). */
  n: number;
  /** W2 only: tasks per key. */
  perKey?: number;
  /** Measured iterations in the process, after a warm-up, each after a full GC (default 1). */
  iterations?: number;
}

/** A run's sizes: Baton and p-limit at `main`; Bottleneck, far slower, at its own smaller sizes. */
export interface SizePlan {
  main: Sizes;
  bottleneck: Sizes;
}

/** One workload: its sizes, and how to run it with each implementation (in a fresh process). */
export interface Workload {
  id: string;
  /** What it is, sizes included, for the report's legend. */
  describe(sizes: Sizes): string;
  sizes: { full: SizePlan; quick: SizePlan };
  run: Record<Impl, (sizes: Sizes) => Promise<Measurement[]>>;
}

/** Milliseconds with sub-microsecond resolution (monotonic). */
export const now = (): number => performance.now();

/** Lets pending microtasks and immediates run, so a measurement never sees half-queued work. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Heap in use after forcing full collections; needs `--expose-gc` (the runner passes it). */
export async function settledHeap(): Promise<number> {
  if (globalThis.gc === undefined) throw new Error('run with --expose-gc');
  await settle();
  // Several passes: weak references and finalizers can free more on the second and third.
  for (let i = 0; i < 3; i++) globalThis.gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Runs `once` `count` times, each after a forced full GC so no run pays for the previous one's
 * garbage; returns every result.
 */
export async function iterate<T>(count: number, once: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < count; i++) {
    await settledHeap();
    results.push(await once());
  }
  return results;
}

/** The median of `xs`. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/** Nearest-rank percentile of `sorted` (ascending), `p` in (0, 100]. */
export function percentile(sorted: Float64Array, p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? NaN;
}

/**
 * The server's path: a FlowController over a fresh memory store with the system clock and timers,
 * and one listener doing what the realtime layer's is cheap enough to do per batch (look at each
 * event, remember the last seq). `delivered(n)` resolves once `n` messages have been delivered.
 */
export function batonHarness(deliverer: Deliverer) {
  const controller = new FlowController({
    store: new MemoryStore(),
    clock: systemClock,
    deliverer,
  });
  let delivered = 0;
  let lastSeq = 0;
  let waiting: { target: number; resolve: () => void } | null = null;
  controller.onEvents((events) => {
    for (let i = 0; i < events.length; i++) {
      if (events[i]?.type === 'message:delivered') delivered++;
    }
    lastSeq = events[events.length - 1]?.seq ?? lastSeq;
    if (waiting !== null && delivered >= waiting.target) {
      const w = waiting;
      waiting = null;
      w.resolve();
    }
  });
  return {
    controller,
    /** Publishes one message the way the HTTP layer does: a fresh input and payload per request. */
    publish(i: number, key: string, parallelism: number): void {
      controller.publish(
        { id: messageId(`msg_${i}`), key: keyId(key), config: { parallelism } },
        { destination: 'sim://bench', method: 'POST', headers: {} },
      );
    },
    /** Resolves once `target` messages in total have been delivered. */
    delivered(target: number): Promise<void> {
      if (delivered >= target) return Promise.resolve();
      return new Promise((resolve) => (waiting = { target, resolve }));
    },
    get lastSeq() {
      return lastSeq;
    },
  };
}

/**
 * The peers' trivial async task, counting its runs; `all` resolves when the n-th one runs. The
 * same shape as Baton's instant deliverer: one resolved promise per task.
 */
export function countingTask(n: number): { task: () => Promise<void>; all: Promise<void> } {
  let done = 0;
  let finish = (): void => {};
  const all = new Promise<void>((resolve) => (finish = resolve));
  const task = async (): Promise<void> => {
    if (++done === n) finish();
  };
  return { task, all };
}

/** Tasks per second, given a task count and elapsed milliseconds. */
export const rate = (tasks: number, elapsedMs: number): number => (tasks * 1000) / elapsedMs;
