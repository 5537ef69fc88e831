import { describe, expect, it } from 'vitest';
import { bucketPath } from './bucket-path';
import { chartScales } from './chart-geometry';

// d3's step curve repeats a segment's last point; the tests take its paths as they are.

const frame = { width: 110, height: 60, margin: { top: 0, right: 10, bottom: 10, left: 0 } };
const scales = chartScales(frame, 10_000, 10_000, 4);

describe('bucketPath', () => {
  it('draws a lone bucket as a flat line across its own time', () => {
    expect(bucketPath([{ t: 10_000, v: 2 }], 2_000, scales)).toBe('M80,25L100,25L100,25');
  });

  it('steps from one bucket to the next without a diagonal', () => {
    const d = bucketPath(
      [
        { t: 4_000, v: 2 },
        { t: 6_000, v: 4 },
      ],
      2_000,
      scales,
    );
    expect(d).toBe('M20,25L40,25L40,0L60,0L60,0');
  });

  it('breaks the line where a bucket holds no data', () => {
    const d = bucketPath(
      [
        { t: 2_000, v: 2 },
        { t: 10_000, v: 4 },
      ],
      2_000,
      scales,
    );
    expect(d).toBe('M0,25L20,25L20,25M80,0L100,0L100,0');
  });

  it('clips a bucket at the left edge and leaves out the ones before it', () => {
    const narrow = chartScales(frame, 10_000, 5_000, 4);
    expect(bucketPath([{ t: 4_000, v: 1 }], 2_000, narrow)).toBe('');
    expect(bucketPath([{ t: 6_000, v: 2 }], 2_000, narrow)).toBe('M0,25L20,25L20,25');
    expect(bucketPath([], 2_000, narrow)).toBe('');
  });
});
