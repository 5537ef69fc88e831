/**
 * W1 — one key, parallelism 10, trivial tasks: raw tasks per second through the limiter.
 * Everything is queued up front (the burst case), then drained; the clock runs from the first
 * publish to the last completion.
 */
import Bottleneck from 'bottleneck';
import pLimit from 'p-limit';
import { instantDeliverer } from '../../server/delivery/simulated';
import {
  batonHarness,
  countingTask,
  iterate,
  median,
  now,
  rate,
  type Measurement,
  type Sizes,
  type Workload,
} from './common';

const PARALLELISM = 10;
const KEY = 'bench';

/** A run of `n` tasks; returns elapsed ms. */
type Once = (n: number) => Promise<number>;

async function batonOnce(n: number): Promise<number> {
  const h = batonHarness(instantDeliverer);
  const t0 = now();
  for (let i = 0; i < n; i++) h.publish(i, KEY, PARALLELISM);
  await h.delivered(n);
  return now() - t0;
}

async function pLimitOnce(n: number): Promise<number> {
  const limit = pLimit(PARALLELISM);
  const { task, all } = countingTask(n);
  const t0 = now();
  // The returned promises are dropped: keeping them would only slow p-limit down.
  for (let i = 0; i < n; i++) void limit(task);
  await all;
  return now() - t0;
}

async function bottleneckOnce(n: number): Promise<number> {
  const limiter = new Bottleneck({ maxConcurrent: PARALLELISM });
  const { task, all } = countingTask(n);
  const t0 = now();
  for (let i = 0; i < n; i++) void limiter.schedule(task);
  await all;
  const elapsed = now() - t0;
  await limiter.stop({ dropWaitingJobs: false });
  return elapsed;
}

/** A warm-up at a tenth of the size (the JIT compiles the hot path), then the measured runs. */
function measured(once: Once, impl: Measurement['impl']) {
  return async ({ n, iterations = 1 }: Sizes): Promise<Measurement[]> => {
    await once(Math.ceil(n / 10));
    const elapsed = median(await iterate(iterations, () => once(n)));
    return [
      { workload: 'W1', impl, metric: 'tasks', value: n },
      { workload: 'W1', impl, metric: 'tasks/s', value: rate(n, elapsed) },
    ];
  };
}

/** W1: one key, parallelism 10. */
export const w1: Workload = {
  id: 'W1',
  describe: ({ n }) =>
    `one key, parallelism ${PARALLELISM}, ${n.toLocaleString('en-US')} trivial tasks`,
  sizes: {
    full: { main: { n: 1_000_000, iterations: 3 }, bottleneck: { n: 10_000 } },
    quick: { main: { n: 100_000 }, bottleneck: { n: 1_000 } },
  },
  run: {
    baton: measured(batonOnce, 'baton'),
    'p-limit': measured(pLimitOnce, 'p-limit'),
    bottleneck: measured(bottleneckOnce, 'bottleneck'),
  },
};
