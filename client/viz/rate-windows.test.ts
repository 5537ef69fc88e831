import { describe, expect, it } from 'vitest';
import { circlesInBox, rateWindows, windowBoxes } from './rate-windows';

const base = {
  now: 14_000,
  ratePeriodStart: 10_000,
  periodMs: 10_000,
  rate: 2,
  rateCount: 2,
  starts: [10_100, 10_200],
  waitingForRate: 3,
};

describe('rateWindows', () => {
  it('draws the past, the current and two future windows back to back', () => {
    const v = rateWindows(base);
    expect(v.windows.map((w) => [w.kind, w.start, w.end])).toEqual([
      ['past', 0, 10_000],
      ['current', 10_000, 20_000],
      ['future', 20_000, 30_000],
      ['future', 30_000, 40_000],
    ]);
    expect(v.remainingMs).toBe(6000);
    expect(v.fraction).toBeCloseTo(0.4);
  });

  it('counts the current window’s starts and pushes the waiters to the next windows, rate per window', () => {
    const v = rateWindows(base);
    expect(v.current).toMatchObject({ started: 2, projected: 0 });
    expect(v.windows.map((w) => w.projected)).toEqual([0, 0, 2, 1]);
    expect(v.later).toBe(0);
    expect(rateWindows({ ...base, waitingForRate: 9 }).later).toBe(5);
  });

  it('lets waiters take what is left of the current window', () => {
    const v = rateWindows({ ...base, rateCount: 1, waitingForRate: 2 });
    expect(v.windows.map((w) => w.projected)).toEqual([0, 1, 1, 0]);
  });

  it('rolls to the window holding now, with its count back at zero, as the engine does', () => {
    const v = rateWindows({ ...base, now: 25_000 });
    expect(v.current).toMatchObject({ start: 20_000, started: 0 });
    expect(v.windows[0]).toMatchObject({ kind: 'past', start: 10_000, started: 2 });
  });
});

describe('windowBoxes', () => {
  it('maps windows onto the width with a gap between them', () => {
    const v = rateWindows(base);
    const { boxes, x } = windowBoxes(v.windows, 0, 400, 10);
    expect(boxes).toHaveLength(4);
    expect(boxes[0]).toEqual({ x: 5, width: 90 });
    expect(boxes[1]!.x).toBeCloseTo(105);
    expect(x(base.now)).toBeCloseTo(140);
  });
});

describe('circlesInBox', () => {
  it('lines circles up from the left and counts what does not fit', () => {
    expect(circlesInBox(2, { x: 0, width: 200 }, 20, 26, 10).xs).toEqual([20, 46]);
    const full = circlesInBox(50, { x: 0, width: 200 }, 20, 26, 10);
    expect(full.xs.length + full.overflow).toBe(50);
    expect(full.xs[full.xs.length - 1]!).toBeLessThan(200);
  });
});
