/**
 * The path of a bucketed series (the wait percentiles per 5 s): each bucket a flat step across its
 * own time, with a break where a bucket holds no data, so sparse samples are never joined by long
 * diagonals and a lone bucket is still a visible line.
 */
import { curveStepAfter, line } from 'd3';
import type { ChartScales, TimePoint } from './chart-geometry';

/**
 * A step line through `buckets` (each `t` the end of a bucket `bucketMs` long, in time order),
 * clipped to the chart's span, broken before every bucket that does not follow the last one.
 */
export function bucketPath(
  buckets: readonly TimePoint[],
  bucketMs: number,
  scales: ChartScales,
): string {
  const [t0] = scales.x.domain() as [number, number];
  const points: (TimePoint | null)[] = [];
  let lastEnd: number | null = null;
  for (const b of buckets) {
    if (b.t <= t0) continue;
    const start = Math.max(t0, b.t - bucketMs);
    if (lastEnd !== null && start > lastEnd) {
      // Close the previous bucket at its end; the null breaks the line there.
      points.push(null);
    } else if (lastEnd !== null) {
      points.pop();
    }
    points.push({ t: start, v: b.v }, { t: b.t, v: b.v });
    lastEnd = b.t;
  }
  if (points.length === 0) return '';
  return (
    line<TimePoint | null>()
      .defined((p) => p !== null)
      .x((p) => scales.x(p!.t))
      .y((p) => scales.y(p!.v))
      .curve(curveStepAfter)(points) ?? ''
  );
}
