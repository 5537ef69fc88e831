import { describe, expect, it } from 'vitest';
import { ms } from '../../shared/engine/units';
import { failsAt, predict, type KeyNow, type PredictionInput } from './predict';

const burst = (count: number, extra: Partial<PredictionInput> = {}): PredictionInput => ({
  offsets: Array.from({ length: count }, () => 0),
  config: { parallelism: 3 },
  durationMs: 1000,
  failRate: 0,
  retries: 3,
  ...extra,
});

const starts = (p: ReturnType<typeof predict>) => p.rows.map((r) => r.attempts[0]!.startAt);

const idleKey: KeyNow = {
  parallelism: 3,
  rate: null,
  periodMs: 1000,
  pinnedParallelism: false,
  pinnedRate: false,
  paused: false,
  rateCount: 0,
  windowStart: 0,
  activeStarts: [],
  waiting: 0,
};

describe('predict', () => {
  it('runs 12 at parallelism 3, 1 s each, in four rounds: 4 s in all, the last waiting 3 s', () => {
    const p = predict(burst(12));
    expect(starts(p)).toEqual([0, 0, 0, 1000, 1000, 1000, 2000, 2000, 2000, 3000, 3000, 3000]);
    expect(p.rows.map((r) => r.attempts[0]!.endAt)).toEqual(
      [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4].map((s) => s * 1000),
    );
    expect(p.summary).toMatchObject({ totalMs: 4000, longestWaitMs: 3000, longestWaitRow: 9 });
    expect(p.rows.every((r) => r.outcome === 'delivered')).toBe(true);
    expect(p.stuck).toBe(false);
  });

  it('is the same every time', () => {
    expect(predict(burst(50, { failRate: 0.2 }))).toEqual(predict(burst(50, { failRate: 0.2 })));
  });

  it('starts everything at once when nothing limits the key', () => {
    const p = predict(burst(5, { config: undefined }));
    expect(starts(p)).toEqual([0, 0, 0, 0, 0]);
    expect(p.summary.totalMs).toBe(1000);
    expect(p.summary.longestWaitMs).toBe(0);
    expect(p.summary.longestWaitRow).toBeNull();
  });

  describe('with a rate limit', () => {
    it('starts `rate` per period window, whatever the parallelism', () => {
      const p = predict(burst(5, { config: { rate: 2, periodMs: ms(10_000) }, durationMs: 500 }));
      expect(starts(p)).toEqual([0, 0, 10_000, 10_000, 20_000]);
      expect(p.summary.totalMs).toBe(20_500);
      expect(p.summary.longestWaitMs).toBe(20_000);
    });

    it('counts the starts already in the key’s current window and starts the rest when it ends', () => {
      const p = predict(
        burst(3, {
          config: { rate: 2, periodMs: ms(10_000) },
          durationMs: 500,
          key: {
            ...idleKey,
            parallelism: null,
            rate: 2,
            periodMs: 10_000,
            rateCount: 1,
            windowStart: -6000,
          },
        }),
      );
      // One place left in the window that ends 4 s from now; two in the next.
      expect(starts(p)).toEqual([0, 4000, 4000]);
    });
  });

  describe('with traffic already on the key', () => {
    it('lets the deliveries in flight finish and the waiters go first', () => {
      const p = predict(
        burst(3, {
          config: { parallelism: 2 },
          key: { ...idleKey, parallelism: 2, activeStarts: [-400, -200], waiting: 1 },
        }),
      );
      // In flight end at 0.6 s and 0.8 s; the first token goes to the waiter already there.
      expect(starts(p)).toEqual([800, 1600, 1800]);
      expect(p.ahead).toEqual({ inFlight: 2, waiting: 1 });
    });

    it('keeps a pinned parallelism over the one the messages carry', () => {
      const p = predict(
        burst(4, {
          config: { parallelism: 4 },
          key: { ...idleKey, parallelism: 1, pinnedParallelism: true },
        }),
      );
      expect(starts(p)).toEqual([0, 1000, 2000, 3000]);
    });

    it('has no total when the key is paused', () => {
      const p = predict(burst(3, { key: { ...idleKey, paused: true } }));
      expect(p.stuck).toBe(true);
      expect(p.summary.totalMs).toBeNull();
      expect(starts(p)).toEqual([null, null, null]);
    });
  });

  describe('with failures', () => {
    it('retries a failed attempt after the engine’s backoff, through flow control again', () => {
      const p = predict(burst(4, { failRate: 0.25, config: { parallelism: 1 } }));
      const failed = p.rows.find((r) => r.attempts.length > 1)!;
      expect(failed.attempts[0]!.ok).toBe(false);
      // The default backoff before the first retry: e^2.5 s ≈ 12.2 s after the failure.
      expect(failed.attempts[1]!.readyAt - failed.attempts[0]!.endAt!).toBe(12_182);
      expect(failed.outcome).toBe('delivered');
      expect(p.summary.failedAttempts).toBe(1);
    });

    it('dead-letters a message whose every attempt fails', () => {
      const p = predict(burst(1, { failRate: 1, retries: 1 }));
      expect(p.rows[0]!.attempts.map((a) => a.ok)).toEqual([false, false]);
      expect(p.rows[0]!.outcome).toBe('dead');
    });
  });
});

describe('failsAt', () => {
  it('fails round(n·p) of the first n attempts, spread evenly', () => {
    const fails = (p: number, n: number) =>
      Array.from({ length: n }, (_, k) => failsAt(k, p)).filter(Boolean).length;
    expect(fails(0, 100)).toBe(0);
    expect(fails(0.1, 100)).toBe(10);
    expect(fails(0.5, 10)).toBe(5);
    expect(fails(1, 7)).toBe(7);
    expect(Array.from({ length: 4 }, (_, k) => failsAt(k, 0.5))).toEqual([
      true,
      false,
      true,
      false,
    ]);
  });
});
