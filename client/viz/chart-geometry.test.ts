import { describe, expect, it } from 'vitest';
import { chartScales, liveStep, pointPath, stepPath, visibleMax } from './chart-geometry';

const frame = { width: 110, height: 60, margin: { top: 0, right: 10, bottom: 10, left: 0 } };

describe('chartScales', () => {
  it('ends the time axis at now and starts y at zero', () => {
    const s = chartScales(frame, 10_000, 10_000, 3);
    expect(s.x(0)).toBe(0);
    expect(s.x(10_000)).toBe(100);
    expect(s.y(0)).toBe(50);
    expect(s.y(s.y.domain()[1]!)).toBe(0);
    expect(s.yTicks).toContain(0);
  });
});

describe('stepPath', () => {
  it('holds each value until the next point and carries the last one to now', () => {
    const s = chartScales(frame, 10_000, 10_000, 4);
    const d = stepPath(
      [
        { t: 2_000, v: 2 },
        { t: 6_000, v: 4 },
      ],
      s,
      10_000,
    );
    expect(d.startsWith('M20,25')).toBe(true);
    expect(d).toContain('L60,25L60,0');
    expect(d.endsWith('100,0')).toBe(true);
  });

  it('starts at the left edge with the value in force there', () => {
    const s = chartScales(frame, 10_000, 5_000, 4);
    expect(stepPath([{ t: 1_000, v: 2 }], s, 10_000).startsWith('M0,25')).toBe(true);
    expect(stepPath([], s, 10_000)).toBe('');
  });
});

describe('liveStep', () => {
  const history = [
    { t: 2_000, v: 2 },
    { t: 6_000, v: 3 },
  ];
  const s = chartScales(frame, 10_000, 10_000, 4);

  it("steps from the line's last value to the live one at now", () => {
    // The line is carried to now at 3 (y 12.5); the live value is 1 (y 37.5).
    expect(stepPath(history, s, 10_000).endsWith('L100,12.5')).toBe(true);
    expect(liveStep(history, s, 10_000, 1)).toBe('M100,12.5V37.5');
  });

  it('draws the step the whole line would draw with the live value as its last point', () => {
    const whole = stepPath([...history, { t: 10_000, v: 1 }], s, 10_000);
    expect(whole).toContain('L100,12.5L100,37.5');
  });

  it('is empty when the line already ends with the live value, or there is no line', () => {
    expect(liveStep(history, s, 10_000, 3)).toBe('');
    expect(liveStep([], s, 10_000, 3)).toBe('');
  });
});

describe('pointPath and visibleMax', () => {
  it('draws only points inside the span and scales to what is visible', () => {
    const s = chartScales(frame, 10_000, 5_000, 8);
    expect(pointPath([{ t: 1_000, v: 8 }], s)).toBe('');
    expect(
      visibleMax(
        [
          [
            { t: 1_000, v: 8 },
            { t: 7_000, v: 2 },
          ],
        ],
        5_000,
      ),
    ).toBe(8);
    expect(
      visibleMax(
        [
          [
            { t: 1_000, v: 8 },
            { t: 3_000, v: 2 },
          ],
        ],
        5_000,
      ),
    ).toBe(2);
  });
});

describe('y ticks', () => {
  it('are whole numbers for counts, and may be fractions for measures', () => {
    expect(chartScales(frame, 0, 1000, 1).yTicks).toEqual([0, 1]);
    expect(chartScales(frame, 0, 1000, 1, false).yTicks.length).toBeGreaterThan(2);
  });
});
