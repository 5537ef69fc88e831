import { describe, expect, it } from 'vitest';
import { waitSamples } from './wait-samples';

describe('waitSamples', () => {
  it('counts the waiters by their age so far, beside the starts in the span', () => {
    const r = waitSamples(
      [
        { at: 1_000, waitedMs: 50 },
        { at: 8_000, waitedMs: 0 },
      ],
      [{ readyAt: 4_000 }, { readyAt: 9_000 }],
      10_000,
      5_000,
    );
    expect(r.started).toBe(1);
    expect(r.waiting).toBe(2);
    expect(r.samples).toEqual([
      { at: 8_000, waitedMs: 0 },
      { at: 10_000, waitedMs: 6_000 },
      { at: 10_000, waitedMs: 1_000 },
    ]);
  });

  it('never counts a negative age when the clocks disagree', () => {
    expect(waitSamples([], [{ readyAt: 11_000 }], 10_000, 0).samples).toEqual([
      { at: 10_000, waitedMs: 0 },
    ]);
  });
});
