/**
 * The geometry of the prediction timeline: one row per request, time across. D3 computes the
 * scale and ticks; the component draws the segments.
 */
import { scaleLinear, type ScaleLinear } from 'd3';
import type { RequestTimeline } from './run-timeline';

/** Rows drawn at most; a longer run is summed up in words, its first rows drawn. */
export const MAX_ROWS = 200;

export interface TimelineFrame {
  width: number;
  /** Room for the row numbers on the left. */
  left: number;
  right: number;
  top: number;
  /** The rows' block at most this tall; rows thin out to fit, down to `minRow`. */
  maxRowsHeight: number;
  minRow: number;
  maxRow: number;
  /** Room for the axis and its labels below the rows. */
  bottom: number;
}

export interface TimelineLayout {
  x: ScaleLinear<number, number>;
  rowH: number;
  /** The top of row `i`. */
  rowY: (i: number) => number;
  rowsBottom: number;
  height: number;
  ticks: { x: number; label: string }[];
  shown: number;
}

/** A tick's text: whole seconds under a minute, then minutes, then hours. */
export function tickLabel(ms: number, stepMs: number): string {
  if (ms === 0) return '0';
  if (stepMs < 1000) return `${(ms / 1000).toFixed(1)} s`;
  if (stepMs < 60_000) return `${Math.round(ms / 1000)} s`;
  if (stepMs < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

/**
 * The axis' end: `spanMs` rounded up to a half of its order of magnitude (4.08 s → 4.5 s), so the
 * scale holds still while a live run creeps past the prediction (the sketched bars are drawn again
 * only when it moves), without the empty fifth of the axis a "nice" domain can leave.
 */
export function roundedSpan(spanMs: number): number {
  const span = Math.max(1, spanMs);
  const step = 10 ** Math.floor(Math.log10(span)) / 2;
  return Math.ceil(span / step) * step;
}

/** Scale, rows and ticks for `rows` requests spanning `spanMs` (at least 1 ms). */
export function timelineLayout(frame: TimelineFrame, rows: number, spanMs: number): TimelineLayout {
  const shown = Math.min(rows, MAX_ROWS);
  const rowH = Math.max(
    frame.minRow,
    Math.min(frame.maxRow, frame.maxRowsHeight / Math.max(1, shown)),
  );
  const x = scaleLinear()
    .domain([0, roundedSpan(spanMs)])
    .range([frame.left, frame.width - frame.right]);
  const values = x.ticks(5);
  const step = values.length > 1 ? values[1]! - values[0]! : Math.max(1, spanMs);
  const rowsBottom = frame.top + shown * rowH;
  return {
    x,
    rowH,
    rowY: (i) => frame.top + i * rowH,
    rowsBottom,
    height: rowsBottom + frame.bottom,
    ticks: values.map((v) => ({ x: x(v), label: tickLabel(v, step) })),
    shown,
  };
}

/** A stretch of a row: waiting for flow control, holding a token, or a retry's backoff. */
export interface Segment {
  kind: 'wait' | 'run' | 'backoff';
  from: number;
  to: number;
  /** A run that failed. */
  failed: boolean;
  /** Not over yet: drawn up to `now`. */
  open: boolean;
}

/**
 * The stretches of one request, in time order. Unfinished ones end at `now` (the live run), or
 * at `now` too for a prediction that never ends (a paused key: `now` is the axis' end).
 */
export function segmentsOf(row: RequestTimeline, now: number): Segment[] {
  const out: Segment[] = [];
  let prevEnd: number | null = null;
  for (const a of row.attempts) {
    if (prevEnd !== null && a.readyAt > prevEnd)
      out.push({ kind: 'backoff', from: prevEnd, to: a.readyAt, failed: false, open: false });
    if (a.readyAt > now) break;
    const waitEnd = a.startAt ?? now;
    if (waitEnd > a.readyAt)
      out.push({
        kind: 'wait',
        from: a.readyAt,
        to: waitEnd,
        failed: false,
        open: a.startAt === null,
      });
    if (a.startAt === null) break;
    const end = a.endAt ?? Math.max(a.startAt, now);
    out.push({
      kind: 'run',
      from: a.startAt,
      to: end,
      failed: a.ok === false,
      open: a.endAt === null,
    });
    prevEnd = a.endAt;
    if (prevEnd === null) break;
  }
  return out;
}
