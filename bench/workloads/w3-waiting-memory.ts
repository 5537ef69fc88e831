/**
 * W3 — memory per waiting message: one key, parallelism 1, its one token held by a delivery that
 * never ends, and `n` messages waiting behind it. Heap growth after forced full GCs, divided by `n`.
 * Each side keeps what its caller would: Baton its messages (id, payload); p-limit and Bottleneck
 * the `limit(fn)` / `schedule(fn)` calls and the promises the caller keeps for them.
 */
import Bottleneck from 'bottleneck';
import pLimit from 'p-limit';
import { keyId } from '../../shared/engine/units';
import {
  batonHarness,
  settle,
  settledHeap,
  type Measurement,
  type Sizes,
  type Workload,
} from './common';

const KEY = 'bench';
/** A delivery (or task) that never ends, so the one token stays held. */
const hold = (): Promise<never> => new Promise<never>(() => {});

async function baton(n: number): Promise<number> {
  const h = batonHarness({ deliver: hold });
  h.publish(0, KEY, 1);
  const before = await settledHeap();
  for (let i = 1; i <= n; i++) h.publish(i, KEY, 1);
  const after = await settledHeap();
  // Also keeps the harness reachable until the measurement is taken.
  const waiting = h.controller.key(keyId(KEY))?.waitListSize;
  if (waiting !== n) throw new Error(`W3: ${waiting} of ${n} messages are waiting`);
  return after - before;
}

async function pLimitRun(n: number): Promise<number> {
  const limit = pLimit(1);
  const kept: Promise<unknown>[] = [limit(hold)];
  const before = await settledHeap();
  for (let i = 0; i < n; i++) kept.push(limit(hold));
  const after = await settledHeap();
  if (limit.pendingCount !== n || kept.length !== n + 1)
    throw new Error('W3: not every task is waiting');
  return after - before;
}

async function bottleneckRun(n: number): Promise<number> {
  const limiter = new Bottleneck({ maxConcurrent: 1 });
  const kept: Promise<unknown>[] = [limiter.schedule(hold)];
  const before = await settledHeap();
  for (let i = 0; i < n; i++) kept.push(limiter.schedule(hold));
  // Bottleneck queues a job a few ticks after `schedule` returns.
  while (limiter.counts().QUEUED < n) await settle();
  const after = await settledHeap();
  if (limiter.counts().QUEUED !== n || kept.length !== n + 1)
    throw new Error('W3: not every job is waiting');
  return after - before;
}

function measured(run: (n: number) => Promise<number>, impl: Measurement['impl']) {
  return async ({ n }: Sizes): Promise<Measurement[]> => {
    const bytes = await run(n);
    return [
      { workload: 'W3', impl, metric: 'waiting', value: n },
      { workload: 'W3', impl, metric: 'bytes/waiting', value: bytes / n },
    ];
  };
}

/** W3: what one waiting message costs in memory. */
export const w3: Workload = {
  id: 'W3',
  describe: ({ n }) =>
    `one key, parallelism 1 held, ${n.toLocaleString('en-US')} waiting: bytes per waiting message`,
  sizes: {
    // Bottleneck queues each job a few timer ticks later: 5,000 take it about ten seconds.
    full: { main: { n: 1_000_000 }, bottleneck: { n: 5_000 } },
    quick: { main: { n: 100_000 }, bottleneck: { n: 500 } },
  },
  run: {
    baton: measured(baton, 'baton'),
    'p-limit': measured(pLimitRun, 'p-limit'),
    bottleneck: measured(bottleneckRun, 'bottleneck'),
  },
};
