import { describe, expect, it } from 'vitest';
import { MAX_ROWS, roundedSpan, segmentsOf, tickLabel, timelineLayout } from './timeline-layout';

const frame = {
  width: 340,
  left: 24,
  right: 16,
  top: 6,
  maxRowsHeight: 200,
  minRow: 1.5,
  maxRow: 14,
  bottom: 30,
};

describe('timelineLayout', () => {
  it('gives few rows their full height and a scale from 0 past the end', () => {
    const l = timelineLayout(frame, 12, 4000);
    expect(l.rowH).toBe(14);
    expect(l.rowY(1)).toBe(20);
    expect(l.height).toBe(6 + 12 * 14 + 30);
    expect(l.x(0)).toBe(24);
    expect(l.x(4000)).toBe(324);
    expect(l.ticks.map((t) => t.label)).toEqual(['0', '1 s', '2 s', '3 s', '4 s']);
  });

  it('thins the rows of a long run and draws at most MAX_ROWS of them', () => {
    const l = timelineLayout(frame, 5000, 60_000);
    expect(l.shown).toBe(MAX_ROWS);
    expect(l.rowH).toBe(1.5);
  });
});

describe('roundedSpan', () => {
  it('rounds up to half an order of magnitude', () => {
    expect(roundedSpan(4000)).toBe(4000);
    expect(roundedSpan(4080)).toBe(4500);
    expect(roundedSpan(20_500)).toBe(25_000);
    expect(roundedSpan(0)).toBe(1);
  });
});

describe('tickLabel', () => {
  it('speaks the unit of the step', () => {
    expect(tickLabel(500, 500)).toBe('0.5 s');
    expect(tickLabel(20_000, 10_000)).toBe('20 s');
    expect(tickLabel(600_000, 300_000)).toBe('10 min');
    expect(tickLabel(7_200_000, 3_600_000)).toBe('2 h');
  });
});

describe('segmentsOf', () => {
  it('draws a wait, a failed run, its backoff, then the retry’s wait and run', () => {
    const row = {
      id: 'a',
      arrivedAt: 0,
      outcome: 'delivered' as const,
      attempts: [
        { readyAt: 0, startAt: 200, endAt: 700, ok: false },
        { readyAt: 2000, startAt: 2100, endAt: 2600, ok: true },
      ],
    };
    expect(segmentsOf(row, 5000).map((s) => [s.kind, s.from, s.to, s.failed])).toEqual([
      ['wait', 0, 200, false],
      ['run', 200, 700, true],
      ['backoff', 700, 2000, false],
      ['wait', 2000, 2100, false],
      ['run', 2100, 2600, false],
    ]);
  });

  it('carries what is still going on to now', () => {
    const row = {
      id: 'b',
      arrivedAt: 0,
      outcome: null,
      attempts: [{ readyAt: 0, startAt: 300, endAt: null, ok: null }],
    };
    expect(segmentsOf(row, 1000)).toEqual([
      { kind: 'wait', from: 0, to: 300, failed: false, open: false },
      { kind: 'run', from: 300, to: 1000, failed: false, open: true },
    ]);
  });
});
