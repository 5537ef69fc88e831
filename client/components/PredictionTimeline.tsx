import { memo, useMemo, type ReactNode } from 'react';
import { palette } from '../viz/palette';
import { arrowPaths, roundedRectPaths } from '../viz/rough-shapes';
import type { RequestTimeline } from '../viz/run-timeline';
import {
  segmentsOf,
  timelineLayout,
  type Segment,
  type TimelineFrame,
  type TimelineLayout,
} from '../viz/timeline-layout';
import { formatDuration } from './format';
import { Rough } from './Rough';

/** The real run, drawn over the prediction: rows by publish order, times from its first arrival. */
export interface RealRun {
  rows: readonly (RequestTimeline | undefined)[];
  totalMs: number | null;
  lastEndMs: number;
  /** Server time now, from the run's origin: where what still runs is drawn to. */
  nowMs: number;
}

export interface PredictionTimelineProps {
  /** The predicted requests, in publish order (all of them; at most MAX_ROWS are drawn). */
  predicted: readonly RequestTimeline[];
  /** Null when the prediction never ends (a paused key). */
  predictedTotalMs: number | null;
  real?: RealRun;
  /** The id of the text that says what the drawing shows. */
  describedBy: string;
}

const FRAME: TimelineFrame = {
  width: 330,
  left: 24,
  right: 40,
  top: 30,
  maxRowsHeight: 200,
  minRow: 1.5,
  maxRow: 14,
  bottom: 34,
};

/** How far the axis reaches: the predicted end, or the real one when it ran longer. */
function spanOf(props: PredictionTimelineProps): number {
  const lastArrival = props.predicted.reduce((m, r) => Math.max(m, r.arrivedAt), 0);
  // A prediction that never ends shows its waits running on past the arrivals.
  const predicted = props.predictedTotalMs ?? lastArrival * 1.5 + 2000;
  const r = props.real;
  const real = r === undefined ? 0 : (r.totalMs ?? Math.max(r.lastEndMs, r.nowMs));
  return Math.max(predicted, real) * 1.02;
}

/**
 * The burst's expected timeline, one row per request: the wait for flow control as a dashed line,
 * the run (holding a token) as a sketched bar, a retry's backoff dotted. The real run, once
 * published, is drawn over it in ink: a thin bar per run, a solid line per wait.
 */
export function PredictionTimeline(props: PredictionTimelineProps) {
  const span = spanOf(props);
  const rows = props.predicted.length;
  const layout = useMemo(() => timelineLayout(FRAME, rows, span), [rows, span]);
  const end = layout.x.domain()[1]!;
  const axisY = layout.rowsBottom + 8;
  const predictedX = props.predictedTotalMs === null ? null : layout.x(props.predictedTotalMs);
  const realTotal = props.real?.totalMs ?? null;
  return (
    <svg
      className="diagram timeline"
      viewBox={`0 0 ${FRAME.width} ${layout.height}`}
      role="img"
      aria-label="Timeline, one row per request"
      aria-describedby={props.describedBy}
    >
      <RowNumbers layout={layout} />
      <PredictedRows rows={props.predicted} layout={layout} end={end} />
      {props.real !== undefined && (
        <RealRows rows={props.real.rows} layout={layout} now={props.real.nowMs} />
      )}
      {/* The totals, one above the other. */}
      {predictedX !== null && (
        <g className="total predicted-total">
          <line x1={predictedX} x2={predictedX} y1={FRAME.top - 24} y2={axisY} />
          <TotalLabel x={predictedX} y={FRAME.top - 17}>
            predicted {formatDuration(props.predictedTotalMs!)}
          </TotalLabel>
        </g>
      )}
      {realTotal !== null && (
        <g className="total real-total">
          <line x1={layout.x(realTotal)} x2={layout.x(realTotal)} y1={FRAME.top - 10} y2={axisY} />
          <TotalLabel x={layout.x(realTotal)} y={FRAME.top - 3}>
            real {formatDuration(realTotal)}
          </TotalLabel>
        </g>
      )}
      <Rough paths={arrowPaths(FRAME.left - 6, axisY, FRAME.width - 34, axisY, palette.ink, 2)} />
      {layout.ticks.map((t) => (
        <text key={t.x} className="tick-label" x={t.x} y={axisY + 17} textAnchor="middle">
          {t.label}
        </text>
      ))}
      <text className="axis-label" x={FRAME.width - 30} y={axisY + 5}>
        time
      </text>
    </svg>
  );
}

/**
 * A total's label, left of its line (a total is the last end, so usually far right), or right of
 * it when there is no room on the left. Text width is estimated: the hand font is ~6 px a glyph.
 */
function TotalLabel({ x, y, children }: { x: number; y: number; children: ReactNode[] }) {
  const width = children.join('').length * 6;
  const left = x - 4 - width >= 0;
  return (
    <text x={left ? x - 4 : x + 4} y={y} textAnchor={left ? 'end' : 'start'}>
      {children}
    </text>
  );
}

/** Every row's number when they are tall enough to read, else the first and the last. */
function RowNumbers({ layout }: { layout: TimelineLayout }) {
  const numbered =
    layout.rowH >= 12
      ? Array.from({ length: layout.shown }, (_, i) => i)
      : layout.shown > 1
        ? [0, layout.shown - 1]
        : [0];
  return (
    <g className="row-numbers" aria-hidden="true">
      {numbered.map((i) => (
        <text
          key={i}
          x={FRAME.left - 6}
          y={
            i === layout.shown - 1 && layout.rowH < 12
              ? layout.rowsBottom
              : layout.rowY(i) + layout.rowH / 2 + 4
          }
          textAnchor="end"
        >
          {i + 1}
        </text>
      ))}
    </g>
  );
}

/** The prediction's rows; drawn again only when the prediction or the scale changes. */
const PredictedRows = memo(function PredictedRows({
  rows,
  layout,
  end,
}: {
  rows: readonly RequestTimeline[];
  layout: TimelineLayout;
  end: number;
}) {
  const sketched = layout.rowH >= 8;
  return (
    <g className="predicted" aria-hidden="true">
      {rows.slice(0, layout.shown).map((row, i) => {
        const y = layout.rowY(i);
        const cy = y + layout.rowH / 2;
        return (
          <g key={row.id}>
            {segmentsOf(row, end).map((s, j) => {
              const x1 = layout.x(s.from);
              const x2 = layout.x(s.to);
              if (s.kind !== 'run')
                return <line key={j} className={`seg ${s.kind}`} x1={x1} x2={x2} y1={cy} y2={cy} />;
              const h = Math.max(1, layout.rowH - (sketched ? 4 : 0.5));
              const w = Math.max(2, x2 - x1);
              return sketched ? (
                <Rough
                  key={j}
                  paths={roundedRectPaths(w, h, {
                    fill: s.failed ? palette.alertFill : palette.tokenFill,
                    stroke: s.failed ? palette.alertLine : palette.tokenLine,
                    strokeWidth: 1.5,
                    radius: 4,
                    seed: (i + j) % 4,
                  })}
                  x={x1}
                  y={cy - h / 2}
                />
              ) : (
                <rect
                  key={j}
                  className={`seg run${s.failed ? ' failed' : ''}`}
                  x={x1}
                  y={cy - h / 2}
                  width={w}
                  height={h}
                />
              );
            })}
          </g>
        );
      })}
    </g>
  );
});

/** The real run over the prediction: solid waits and ink bars, what still runs drawn to now. */
function RealRows({
  rows,
  layout,
  now,
}: {
  rows: readonly (RequestTimeline | undefined)[];
  layout: TimelineLayout;
  now: number;
}) {
  const barH = Math.max(1.5, layout.rowH * 0.34);
  return (
    <g className="real" aria-hidden="true">
      {rows.slice(0, layout.shown).map((row, i) => {
        if (row === undefined) return null;
        const cy = layout.rowY(i) + layout.rowH / 2;
        return (
          <g key={row.id}>
            {segmentsOf(row, now).map((s: Segment, j) => {
              const x1 = layout.x(s.from);
              const x2 = layout.x(Math.max(s.from, s.to));
              const cls = `seg ${s.kind}${s.failed ? ' failed' : ''}${s.open ? ' open' : ''}`;
              return s.kind === 'run' ? (
                <rect
                  key={j}
                  className={cls}
                  x={x1}
                  y={cy - barH / 2}
                  width={Math.max(1.5, x2 - x1)}
                  height={barH}
                  rx={Math.min(2, barH / 2)}
                />
              ) : (
                <line key={j} className={cls} x1={x1} x2={x2} y1={cy} y2={cy} />
              );
            })}
          </g>
        );
      })}
    </g>
  );
}
