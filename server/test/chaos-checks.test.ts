import { describe, expect, it } from 'vitest';
import { checkRate, deliveryReport, mostInFlightByKey } from './chaos-checks';
import type { Attempt } from './chaos-destination';

const attempt = (over: Partial<Attempt>): Attempt => ({
  id: 'm1',
  key: 'k',
  tag: '',
  retried: 0,
  start: 0,
  end: 10,
  abandoned: false,
  concurrent: 1,
  ...over,
});

describe('checkRate', () => {
  const grid = { windowStart: 1_000, periodMs: 1_000, rate: 2 };

  it('accepts up to the rate in each fixed window, whatever the gap across a boundary', () => {
    expect(checkRate([1_000, 1_998, 1_999, 2_000, 2_001], grid, 0, 0).overruns).toEqual([1_999]);
    expect(checkRate([1_998, 1_999, 2_000, 2_001], grid, 0)).toEqual({
      strictMost: 2,
      overruns: [],
    });
  });

  it('counts windows before the one it was given', () => {
    expect(checkRate([0, 10, 20], grid, 0).overruns).toEqual([20]);
  });

  it('lets an arrival just after a boundary count in the window before when its start may be there', () => {
    // Three arrivals in [2000, 3000): the first may have started before 2000.
    expect(checkRate([1_500, 2_010, 2_020, 2_030], grid, 50)).toEqual({
      strictMost: 3,
      overruns: [],
    });
    expect(checkRate([1_500, 2_010, 2_020, 2_030], grid, 5).overruns).toEqual([2_030]);
  });

  it('does not use the same room twice', () => {
    expect(checkRate([1_900, 1_950, 2_010, 2_020, 2_030], grid, 200).overruns).toEqual([2_030]);
  });
});

describe('deliveryReport', () => {
  it('tells missing, unknown, duplicated and abandoned attempts apart', () => {
    const attempts = [
      attempt({ id: 'a' }),
      attempt({ id: 'b', abandoned: true }),
      attempt({ id: 'b', retried: 1 }),
      attempt({ id: 'c', abandoned: true }),
      attempt({ id: 'd' }),
      attempt({ id: 'd', retried: 1 }),
      attempt({ id: 'x' }),
    ];
    const r = deliveryReport(new Set(['a', 'b', 'c', 'd']), attempts);
    expect(r.missing).toEqual(['c']);
    expect(r.unknown).toEqual(['x']);
    expect(r.duplicates.map((d) => d.id)).toEqual(['d']);
    expect(r.abandoned).toHaveLength(2);
  });
});

describe('mostInFlightByKey', () => {
  it('takes the largest count seen at an arrival, per key', () => {
    const m = mostInFlightByKey([
      attempt({ key: 'a', concurrent: 1 }),
      attempt({ key: 'a', concurrent: 3 }),
      attempt({ key: 'b', concurrent: 2 }),
    ]);
    expect(Object.fromEntries(m)).toEqual({ a: 3, b: 2 });
  });
});
