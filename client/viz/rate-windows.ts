/**
 * The docs' rate picture: fixed period windows on a time axis, the starts inside each window, the
 * current window's use, and the waiters pushed into the windows that will take them. Pure; the
 * windows follow the engine's own rule (shared `windowAt`), so the drawing cannot disagree with it.
 */
import { scaleLinear } from 'd3';
import { windowAt } from '../../shared/engine/rate-window';
import { ms } from '../../shared/engine/units';

export interface RateInput {
  /** Server time now, ms. */
  now: number;
  ratePeriodStart: number;
  periodMs: number;
  rate: number;
  /** Starts counted in the window beginning at `ratePeriodStart` (as of the last event). */
  rateCount: number;
  /** Start times seen by this page (server ms, any order); used for the past window. */
  starts: readonly number[];
  /** Waiters held back by the rate, in order; they go into the next windows, `rate` per window. */
  waitingForRate: number;
}

export interface RateWindow {
  start: number;
  end: number;
  kind: 'past' | 'current' | 'future';
  /** Starts inside the window (for the current one, the engine's count). */
  started: number;
  /** Waiters expected to start in this window. */
  projected: number;
}

export interface RateView {
  windows: RateWindow[];
  current: RateWindow;
  /** Waiters beyond the last drawn window. */
  later: number;
  /** Time left in the current window, ms. */
  remainingMs: number;
  /** How far `now` is into the current window, 0..1. */
  fraction: number;
}

/** One past window, the current one, and `future` windows after it. */
export function rateWindows(input: RateInput, future = 2): RateView {
  const period = Math.max(1, input.periodMs);
  const cur = windowAt(ms(input.ratePeriodStart), ms(period), input.rateCount, ms(input.now));
  const windows: RateWindow[] = [];
  const pastStart = cur.start - period;
  windows.push({
    start: pastStart,
    end: cur.start,
    kind: 'past',
    started: input.starts.filter((t) => t >= pastStart && t < cur.start).length,
    projected: 0,
  });
  let left = input.waitingForRate;
  const take = (room: number) => {
    const n = Math.max(0, Math.min(left, room));
    left -= n;
    return n;
  };
  const current: RateWindow = {
    start: cur.start,
    end: cur.start + period,
    kind: 'current',
    started: cur.count,
    projected: take(input.rate - cur.count),
  };
  windows.push(current);
  for (let i = 1; i <= future; i++) {
    windows.push({
      start: cur.start + i * period,
      end: cur.start + (i + 1) * period,
      kind: 'future',
      started: 0,
      projected: take(input.rate),
    });
  }
  return {
    windows,
    current,
    later: left,
    remainingMs: Math.max(0, current.end - input.now),
    fraction: Math.min(1, Math.max(0, (input.now - current.start) / period)),
  };
}

export interface WindowBox {
  x: number;
  width: number;
}

/** Maps the windows onto [x0, x1], leaving `gap` between neighbours as the docs do. */
export function windowBoxes(
  windows: readonly RateWindow[],
  x0: number,
  x1: number,
  gap = 14,
): { boxes: WindowBox[]; x: (t: number) => number } {
  const first = windows[0];
  const last = windows[windows.length - 1];
  if (first === undefined || last === undefined) return { boxes: [], x: () => x0 };
  const x = scaleLinear().domain([first.start, last.end]).range([x0, x1]);
  const boxes = windows.map((w) => ({
    x: x(w.start) + gap / 2,
    width: Math.max(0, x(w.end) - x(w.start) - gap),
  }));
  return { boxes, x: (t: number) => x(t) };
}

/**
 * Centres for `count` circles of `diameter` left-aligned in a box, as the docs line up the starts
 * of a window; what does not fit is returned as `overflow` (drawn as "+N").
 */
export function circlesInBox(
  count: number,
  box: WindowBox,
  diameter: number,
  pitch = diameter + 6,
  pad = 14,
): { xs: number[]; overflow: number } {
  const fit = Math.max(0, Math.floor((box.width - 2 * pad - diameter) / pitch) + 1);
  // Keep room for the "+N" note when some do not fit.
  const shown = count > fit ? Math.max(0, fit - 1) : count;
  const xs = Array.from({ length: shown }, (_, i) => box.x + pad + diameter / 2 + i * pitch);
  return { xs, overflow: count - shown };
}
