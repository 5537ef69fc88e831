/**
 * The Redis section of `npm run bench` (issue 11), W5: one key of parallelism 10, 50 callers in a
 * closed loop (take a slot, give it back, ask again) through one local Redis, against
 * redis-semaphore and Bottleneck's Redis mode in the same run. Baton's slot is a message accepted
 * through the Redis store: its start is the token granted, its finish the token given back.
 *
 * The Redis is one of our own (scripts/redis-server.ts), on a free loopback port, persisting
 * nothing, started for the section and stopped after it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RedisStore } from '../../server/store/redis/redis-store';
import { startRedis, stop } from '../../scripts/redis-server';
import type { SectionMeasurement } from '../server/section';
import { formatNumber, formatTable } from '../table';
import { batonAcquire } from './baton';
import { closedLoop, percentile, type ClosedLoopResult } from './closed-loop';
import { bottleneckRedis, redisSemaphore, type Peer } from './peers';

const PARALLELISM = 10;
const CALLERS = 50;
/** Every caller within this share of the mean cycles. */
const FAIRNESS = 0.1;
const WAIT_P99_TARGET_MS = 4;

const plan = (quick: boolean) =>
  quick ? { warmupMs: 1_000, windowMs: 3_000 } : { warmupMs: 2_000, windowMs: 10_000 };

type Impl = 'baton (redis)' | 'redis-semaphore' | 'bottleneck (redis)';

async function batonPeer(url: string): Promise<Peer> {
  const store = await RedisStore.open({ url, prefix: `bench-w5-${Date.now()}:` });
  return {
    acquire: batonAcquire(store, 'w5', PARALLELISM),
    close: async () => {
      await store.close();
    },
  };
}

interface Row {
  impl: Impl;
  result: ClosedLoopResult;
}

function summarize({ impl, result }: Row) {
  const waits = [...result.waits].sort((a, b) => a - b);
  const per = result.perCaller;
  const mean = per.reduce((a, b) => a + b, 0) / Math.max(1, per.length);
  const min = Math.min(...per);
  const max = Math.max(...per);
  return {
    impl,
    cyclesPerSecond: result.cyclesPerSecond,
    mean,
    min,
    max,
    spread: mean > 0 ? Math.max(mean - min, max - mean) / mean : NaN,
    p50: percentile(waits, 50),
    p99: percentile(waits, 99),
  };
}

/** Runs W5; returns its measurements and its part of the report. */
export async function redisSection(
  quick: boolean,
): Promise<{ measurements: SectionMeasurement[]; report: string }> {
  const { warmupMs, windowMs } = plan(quick);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-bench-redis-'));
  const redis = await startRedis(dir);
  const url = `redis://127.0.0.1:${redis.port}`;
  const rows: Row[] = [];
  try {
    const impls: Array<[Impl, () => Promise<Peer> | Peer]> = [
      ['baton (redis)', () => batonPeer(url)],
      ['redis-semaphore', () => redisSemaphore(url, PARALLELISM)],
      ['bottleneck (redis)', () => bottleneckRedis(url, PARALLELISM)],
    ];
    for (const [impl, make] of impls) {
      process.stderr.write(`W5 ${impl}… `);
      const t0 = performance.now();
      const peer = await make();
      try {
        rows.push({
          impl,
          result: await closedLoop(peer.acquire, { callers: CALLERS, warmupMs, windowMs }),
        });
      } finally {
        await peer.close();
      }
      process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    }
  } finally {
    await stop(redis.child);
    rmSync(dir, { recursive: true, force: true });
  }

  const s = rows.map(summarize);
  const measurements: SectionMeasurement[] = s.flatMap((r) => [
    { workload: 'W5', impl: r.impl, metric: 'cycles/s', value: r.cyclesPerSecond },
    { workload: 'W5', impl: r.impl, metric: 'caller min', value: r.min },
    { workload: 'W5', impl: r.impl, metric: 'caller max', value: r.max },
    { workload: 'W5', impl: r.impl, metric: 'wait p50 ms', value: r.p50 },
    { workload: 'W5', impl: r.impl, metric: 'wait p99 ms', value: r.p99 },
  ]);
  const baton = s.find((r) => r.impl === 'baton (redis)')!;
  const semaphore = s.find((r) => r.impl === 'redis-semaphore')!;
  const pass = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  const pct = (x: number) => `${formatNumber(x * 100)}%`;
  const report = [
    `W5  Redis: one key, parallelism ${PARALLELISM}, ${CALLERS} callers in a closed loop (take a slot, give it`,
    `    back, ask again) through one local Redis; ${windowMs / 1000} s measured after ${warmupMs / 1000} s of warm-up.`,
    '    A caller\u2019s cycles: how many slots it took in the window; wait: asking → holding.',
    '',
    formatTable(
      [
        ['impl', 'cycles/s', 'caller min', 'mean', 'max', 'spread', 'wait p50', 'wait p99'],
        ...s.map((r) => [
          r.impl,
          formatNumber(r.cyclesPerSecond),
          formatNumber(r.min),
          formatNumber(r.mean),
          formatNumber(r.max),
          pct(r.spread),
          `${formatNumber(r.p50)} ms`,
          `${formatNumber(r.p99)} ms`,
        ]),
      ],
      ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
    '',
    'targets (Redis)',
    formatTable(
      [
        ['target', 'goal', 'measured', ''],
        [
          'W5 cycles/s',
          `≥ redis-semaphore (${formatNumber(semaphore.cyclesPerSecond)})`,
          formatNumber(baton.cyclesPerSecond),
          pass(baton.cyclesPerSecond >= semaphore.cyclesPerSecond),
        ],
        [
          'W5 every caller',
          `within ±${FAIRNESS * 100}% of the mean`,
          pct(baton.spread),
          pass(baton.spread <= FAIRNESS),
        ],
        [
          'W5 wait p99',
          `≤ ${WAIT_P99_TARGET_MS} ms`,
          `${formatNumber(baton.p99)} ms`,
          pass(baton.p99 <= WAIT_P99_TARGET_MS),
        ],
      ],
      ['left', 'left', 'right', 'left'],
    ),
  ].join('\n');
  return { measurements, report };
}
