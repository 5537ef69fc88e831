/**
 * W4 — handoff latency: parallelism 1, `n` tasks in a chain. For each handoff, the time from the
 * moment task i's promise is resolved to the moment task i+1's work is invoked (Baton: the
 * deliverer is called for the next message; p-limit and Bottleneck: the next function starts).
 * Every task resolves from its own `setImmediate`, so each handoff is timed on its own, in a
 * fresh macrotask, the same way for every implementation.
 */
import Bottleneck from 'bottleneck';
import pLimit from 'p-limit';
import type { AttemptResult } from '../../shared/engine/types';
import {
  batonHarness,
  median,
  now,
  percentile,
  type Measurement,
  type Sizes,
  type Workload,
} from './common';

const KEY = 'bench';
const OK: AttemptResult = { ok: true, status: 200 };

/** Records when each task starts and when its promise is resolved; yields the handoff gaps. */
function chainProbe(n: number) {
  const started = new Float64Array(n);
  const released = new Float64Array(n);
  let count = 0;
  let finish = (): void => {};
  const all = new Promise<void>((resolve) => (finish = resolve));
  /** The work itself: note the start, end on the next macrotask. */
  const task = <T>(value: T): Promise<T> => {
    const i = count++;
    started[i] = now();
    return new Promise<T>((resolve) =>
      setImmediate(() => {
        released[i] = now();
        resolve(value);
        if (i === n - 1) finish();
      }),
    );
  };
  /** Handoff gaps in µs, ascending. */
  const gapsUs = (): Float64Array => {
    const gaps = new Float64Array(n - 1);
    for (let i = 0; i < n - 1; i++) gaps[i] = ((started[i + 1] ?? 0) - (released[i] ?? 0)) * 1000;
    return gaps.sort();
  };
  return { task, all, gapsUs };
}

/** Runs a chain of `n`; returns the sorted handoff gaps in µs. */
type Chain = (n: number) => Promise<Float64Array>;

const baton: Chain = async (n) => {
  const probe = chainProbe(n);
  const h = batonHarness({ deliver: () => probe.task(OK) });
  for (let i = 0; i < n; i++) h.publish(i, KEY, 1);
  await probe.all;
  await h.delivered(n);
  return probe.gapsUs();
};

const pLimitChain: Chain = async (n) => {
  const probe = chainProbe(n);
  const limit = pLimit(1);
  for (let i = 0; i < n; i++) void limit(() => probe.task(undefined));
  await probe.all;
  return probe.gapsUs();
};

const bottleneckChain: Chain = async (n) => {
  const probe = chainProbe(n);
  const limiter = new Bottleneck({ maxConcurrent: 1 });
  for (let i = 0; i < n; i++) void limiter.schedule(() => probe.task(undefined));
  await probe.all;
  return probe.gapsUs();
};

/**
 * A warm-up chain (compiled code), then the measured chains back to back; each percentile is their
 * median. No forced GC between chains (unlike the throughput workloads): a forced full collection
 * throws away optimized code that refers to objects it frees, so every chain would begin by
 * re-compiling, and its first thousand handoffs would measure the JIT, not the handoff. A running
 * server never forces a collection; ordinary collections still happen here as they would there.
 */
function measured(chain: Chain, impl: Measurement['impl']) {
  return async ({ n, iterations = 1 }: Sizes): Promise<Measurement[]> => {
    await chain(Math.min(1_000, n));
    const runs: Float64Array[] = [];
    for (let i = 0; i < iterations; i++) runs.push(await chain(n));
    return [
      { workload: 'W4', impl, metric: 'handoffs', value: n - 1 },
      { workload: 'W4', impl, metric: 'p50 µs', value: median(runs.map((g) => percentile(g, 50))) },
      { workload: 'W4', impl, metric: 'p99 µs', value: median(runs.map((g) => percentile(g, 99))) },
    ];
  };
}

/** W4: the latency of one handoff, release to next start. */
export const w4: Workload = {
  id: 'W4',
  describe: ({ n }) =>
    `parallelism 1, ${n.toLocaleString('en-US')} tasks in a chain: release → next start`,
  sizes: {
    full: { main: { n: 10_000, iterations: 5 }, bottleneck: { n: 1_000 } },
    quick: { main: { n: 2_000 }, bottleneck: { n: 200 } },
  },
  run: {
    baton: measured(baton, 'baton'),
    'p-limit': measured(pLimitChain, 'p-limit'),
    bottleneck: measured(bottleneckChain, 'bottleneck'),
  },
};
