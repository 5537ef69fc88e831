/**
 * W2 — many keys: `n` keys × `perKey` tasks, parallelism 5 on each. Tasks per second, and the
 * process's peak resident memory (one process per run, so the peak is this run's alone).
 * Tasks are published key by key, each key's burst at once, as a fan-out job would.
 */
import Bottleneck from 'bottleneck';
import pLimit, { type LimitFunction } from 'p-limit';
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

const PARALLELISM = 5;

/** A run over `keys` × `perKey` tasks; returns elapsed ms. */
type Once = (keys: number, perKey: number) => Promise<number>;

async function batonOnce(keys: number, perKey: number): Promise<number> {
  const h = batonHarness(instantDeliverer);
  const t0 = now();
  let i = 0;
  for (let k = 0; k < keys; k++) {
    const key = `key_${k}`;
    for (let j = 0; j < perKey; j++) h.publish(i++, key, PARALLELISM);
  }
  await h.delivered(i);
  return now() - t0;
}

async function pLimitOnce(keys: number, perKey: number): Promise<number> {
  const { task, all } = countingTask(keys * perKey);
  const t0 = now();
  // One limiter per key, created on the key's first task, as a caller without Baton would.
  const limits = new Map<string, LimitFunction>();
  for (let k = 0; k < keys; k++) {
    const key = `key_${k}`;
    for (let j = 0; j < perKey; j++) {
      let limit = limits.get(key);
      if (limit === undefined) limits.set(key, (limit = pLimit(PARALLELISM)));
      void limit(task);
    }
  }
  await all;
  return now() - t0;
}

async function bottleneckOnce(keys: number, perKey: number): Promise<number> {
  const { task, all } = countingTask(keys * perKey);
  const t0 = now();
  const group = new Bottleneck.Group({ maxConcurrent: PARALLELISM });
  for (let k = 0; k < keys; k++) {
    const key = `key_${k}`;
    for (let j = 0; j < perKey; j++) void group.key(key).schedule(task);
  }
  await all;
  return now() - t0;
}

/** A warm-up at a tenth of the keys, then the measured runs; memory is the process's peak. */
function measured(once: Once, impl: Measurement['impl']) {
  return async ({ n, perKey = 20, iterations = 1 }: Sizes): Promise<Measurement[]> => {
    const rssAtStart = process.memoryUsage().rss;
    await once(Math.ceil(n / 10), perKey);
    const elapsed = median(await iterate(iterations, () => once(n, perKey)));
    return [
      { workload: 'W2', impl, metric: 'tasks', value: n * perKey },
      { workload: 'W2', impl, metric: 'tasks/s', value: rate(n * perKey, elapsed) },
      // maxRSS is the process's peak so far, in KiB.
      {
        workload: 'W2',
        impl,
        metric: 'peak MB',
        value: (process.resourceUsage().maxRSS * 1024 - rssAtStart) / 2 ** 20,
      },
    ];
  };
}

/** W2: many keys with a small parallelism each. */
export const w2: Workload = {
  id: 'W2',
  describe: ({ n, perKey = 20 }) =>
    `${n.toLocaleString('en-US')} keys × ${perKey} tasks, parallelism ${PARALLELISM} each`,
  sizes: {
    full: { main: { n: 10_000, perKey: 20, iterations: 3 }, bottleneck: { n: 200, perKey: 20 } },
    quick: { main: { n: 1_000, perKey: 20 }, bottleneck: { n: 25, perKey: 20 } },
  },
  run: {
    baton: measured(batonOnce, 'baton'),
    'p-limit': measured(pLimitOnce, 'p-limit'),
    bottleneck: measured(bottleneckOnce, 'bottleneck'),
  },
};
