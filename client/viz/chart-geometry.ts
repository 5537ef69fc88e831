/**
 * Scales and path strings for the small live charts (in flight vs limit, waitlist size, wait-time
 * percentiles). D3 computes, the React chart renders the strings.
 */
import { curveLinear, curveStepAfter, line, scaleLinear, type ScaleLinear } from 'd3';

export interface ChartFrame {
  width: number;
  height: number;
  /** Inner margins: room for the y labels on the left and the time labels below. */
  margin: { top: number; right: number; bottom: number; left: number };
}

export interface TimePoint {
  t: number;
  v: number;
}

export interface ChartScales {
  x: ScaleLinear<number, number>;
  y: ScaleLinear<number, number>;
  yTicks: number[];
}

/**
 * The x (time, ending at `now`) and y (0 to a nice max covering `yMax`) scales of a chart;
 * `integer` keeps only whole-number ticks (for counts).
 */
export function chartScales(
  frame: ChartFrame,
  now: number,
  spanMs: number,
  yMax: number,
  integer = true,
): ChartScales {
  const { width, height, margin } = frame;
  const x = scaleLinear()
    .domain([now - spanMs, now])
    .range([margin.left, width - margin.right]);
  const y = scaleLinear()
    .domain([0, Math.max(1, yMax)])
    .nice(4)
    .range([height - margin.bottom, margin.top]);
  // Counts get whole-number ticks only; a count of 1 has ticks 0 and 1, not 0.2 steps.
  return { x, y, yTicks: y.ticks(4).filter((t) => !integer || Number.isInteger(t)) };
}

/**
 * A step line through `points` (a value holds until the next point), clipped to the chart's time
 * span and carried on to `now`, since the last known value is still the value now.
 */
export function stepPath(points: readonly TimePoint[], scales: ChartScales, now: number): string {
  const [t0] = scales.x.domain() as [number, number];
  let i = 0;
  // The point in force at the left edge starts the line there.
  while (i + 1 < points.length && points[i + 1]!.t <= t0) i++;
  const visible = points.slice(i).map((p) => ({ t: Math.max(p.t, t0), v: p.v }));
  if (visible.length === 0) return '';
  visible.push({ t: now, v: visible[visible.length - 1]!.v });
  return (
    line<TimePoint>()
      .x((p) => scales.x(p.t))
      .y((p) => scales.y(p.v))
      .curve(curveStepAfter)(visible) ?? ''
  );
}

/**
 * The last step of a held value's line, to its live value: the points are read at a slower pace
 * than the value changes, so where the value now differs from the line's last one, a vertical step
 * at `now` takes the line there (the step `stepPath` would draw with the live value as a last
 * point, without recomputing the rest). Empty when they agree, or when there is no line yet.
 */
export function liveStep(
  points: readonly TimePoint[],
  scales: ChartScales,
  now: number,
  live: number,
): string {
  const last = points[points.length - 1];
  if (last === undefined || last.v === live) return '';
  return `M${scales.x(now)},${scales.y(last.v)}V${scales.y(live)}`;
}

/** A straight line through `points` (for percentiles, which are samples, not held values). */
export function pointPath(points: readonly TimePoint[], scales: ChartScales): string {
  const [t0] = scales.x.domain() as [number, number];
  const visible = points.filter((p) => p.t >= t0);
  if (visible.length === 0) return '';
  return (
    line<TimePoint>()
      .x((p) => scales.x(p.t))
      .y((p) => scales.y(p.v))
      .curve(curveLinear)(visible) ?? ''
  );
}

/** The largest value of the series that are visible after `since`, for the y scale. */
export function visibleMax(series: ReadonlyArray<readonly TimePoint[]>, since: number): number {
  let max = 0;
  for (const points of series) {
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      const next = points[i + 1];
      // A point still counts while its value holds into the window.
      if (p.t >= since || (next !== undefined && next.t > since) || next === undefined) {
        max = Math.max(max, p.v);
      }
    }
  }
  return max;
}
