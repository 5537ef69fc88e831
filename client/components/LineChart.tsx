import { memo, useMemo } from 'react';
import { bucketPath } from '../viz/bucket-path';
import { chartScales, liveStep, stepPath, visibleMax, type TimePoint } from '../viz/chart-geometry';

export interface ChartSeries {
  name: string;
  points: readonly TimePoint[];
  /** CSS class giving the line its colour and dash. */
  className: string;
  /**
   * Absent for held values (a step line carried to now); for buckets of this many ms (each `t` a
   * bucket's end), a flat step per bucket, broken where a bucket is empty, never a diagonal.
   */
  bucketMs?: number;
}

export interface LineChartProps {
  /** The chart's accessible name and visible title. */
  title: string;
  series: readonly ChartSeries[];
  /** Server time now: the right edge. */
  now: number;
  spanMs: number;
  /** Formats a y tick (default: the number); also says whether ticks are whole numbers. */
  tickFormat?: (v: number) => string;
  /** Counts (whole-number ticks) or measures. */
  integer?: boolean;
  /** The y axis reaches at least this far, so a flat zero line does not get a microscopic scale. */
  yFloor?: number;
  /** A short text of the current values, for the caption and the accessible name. */
  summary: string;
  /**
   * The live value now of held series, by series name, when their points (read at a slower pace)
   * may lag it: the line ends with a step to it at now. A change of it alone redraws only that
   * step, not the lines.
   */
  live?: Readonly<Record<string, number>>;
}

/** A legend swatch: a short stretch of the series' own line. */
function Swatch({ className }: { className: string }) {
  return (
    <svg className="legend-swatch" viewBox="0 0 18 8" aria-hidden="true">
      <line className={`series ${className}`} x1={1} x2={17} y1={4} y2={4} />
    </svg>
  );
}

const frame = { width: 260, height: 130, margin: { top: 10, right: 8, bottom: 20, left: 34 } };

/**
 * A small live chart: D3 computes the scales and paths, React draws them. Memoized, and the lines
 * computed only when their points or the time axis move: a chart whose live values change with
 * every frame of events redraws just their last steps.
 */
export const LineChart = memo(function LineChart({
  title,
  series,
  now,
  spanMs,
  tickFormat = String,
  integer = true,
  yFloor = 1,
  summary,
  live,
}: LineChartProps) {
  const pointsMax = useMemo(
    () =>
      visibleMax(
        series.map((s) => s.points),
        now - spanMs,
      ),
    [series, now, spanMs],
  );
  const liveMax = live === undefined ? 0 : Math.max(0, ...Object.values(live));
  const yMax = Math.max(yFloor, pointsMax, liveMax);
  const scales = useMemo(
    () => chartScales(frame, now, spanMs, yMax, integer),
    [now, spanMs, yMax, integer],
  );
  const paths = useMemo(
    () =>
      series.map((s) =>
        s.bucketMs === undefined
          ? stepPath(s.points, scales, now)
          : bucketPath(s.points, s.bucketMs, scales),
      ),
    [series, scales, now],
  );
  const [left, right] = scales.x.range() as [number, number];
  const bottom = frame.height - frame.margin.bottom;
  return (
    <figure className="chart">
      <figcaption>
        <span className="chart-title">{title}</span>
        <span className="chart-summary">{summary}</span>
        {/* Topmost line first: the series are drawn in order, the last on top. */}
        <ul className="chart-legend" aria-label="Legend">
          {[...series].reverse().map((s) => (
            <li key={s.name}>
              <Swatch className={s.className} />
              {s.name}
            </li>
          ))}
        </ul>
      </figcaption>
      <svg
        viewBox={`0 0 ${frame.width} ${frame.height}`}
        role="img"
        aria-label={`${title}: ${summary}`}
      >
        {scales.yTicks.map((t) => (
          <g key={t} className="tick">
            <line x1={left} x2={right} y1={scales.y(t)} y2={scales.y(t)} />
            <text x={left - 5} y={scales.y(t) + 4} textAnchor="end">
              {tickFormat(t)}
            </text>
          </g>
        ))}
        <text className="time-label" x={left} y={bottom + 15}>
          −{Math.round(spanMs / 1000)} s
        </text>
        <text className="time-label" x={right} y={bottom + 15} textAnchor="end">
          now
        </text>
        {series.map((s, i) => {
          const value = s.bucketMs === undefined ? live?.[s.name] : undefined;
          const step = value === undefined ? '' : liveStep(s.points, scales, now, value);
          return <path key={s.name} className={`series ${s.className}`} d={paths[i] + step} />;
        })}
      </svg>
    </figure>
  );
});
