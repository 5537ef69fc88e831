import { describe, expect, it } from 'vitest';
import { percentileBuckets, percentiles } from './percentiles';

describe('percentiles', () => {
  it('interpolates between closest ranks', () => {
    const values = Array.from({ length: 101 }, (_, i) => i * 10);
    expect(percentiles(values)).toEqual({ p50: 500, p95: 950, p99: 990, count: 101 });
  });

  it('is null with no samples and exact with one', () => {
    expect(percentiles([])).toBeNull();
    expect(percentiles([42])).toEqual({ p50: 42, p95: 42, p99: 42, count: 1 });
  });

  it('does not care about input order', () => {
    expect(percentiles([3, 1, 2])).toEqual(percentiles([1, 2, 3]));
  });
});

describe('percentileBuckets', () => {
  it('groups starts into buckets ending at now and leaves out empty ones', () => {
    const samples = [
      { at: 1_000, waitedMs: 100 },
      { at: 1_500, waitedMs: 300 },
      { at: 9_500, waitedMs: 50 },
      { at: -5_000, waitedMs: 9_999 },
    ];
    const buckets = percentileBuckets(samples, 10_000, 10_000, 2_000);
    expect(buckets.map((b) => [b.t, b.count, b.p50])).toEqual([
      [2_000, 2, 200],
      [10_000, 1, 50],
    ]);
  });
});
