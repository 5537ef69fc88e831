import { useEffect, useRef } from 'react';
import { useNow } from '../hooks/useNow';
import { useRecent } from '../hooks/useRecent';
import {
  selectClockOffset,
  selectGlobalInFlight,
  selectGlobalParallelism,
} from '../store/selectors';
import { useAppStore, useAppStoreApi } from '../store/useAppStore';
import { explainWait } from './explain-wait';
import { ARRIVAL_MS, type Arrival } from '../store/activity';
import type { KeyView } from '../store/flow-types';
import { palette } from '../viz/palette';
import { circlesInBox, rateWindows, windowBoxes, type RateWindow } from '../viz/rate-windows';
import { arrowPaths, circlePaths, linePaths, roundedRectPaths } from '../viz/rough-shapes';
import { formatDuration, formatPeriod, periodLabel } from './format';
import { Rough } from './Rough';

export interface RateTimelineProps {
  /** A key with a rate limit. */
  k: KeyView & { rate: number };
  /** The key's latest refused arrival, while recent; drawn when the rate refused it. */
  arrival: Arrival | undefined;
}

const WIDTH = 840;
const X0 = 24;
const X1 = 750;
const BOX_Y = 74;
const BOX_H = 58;
const AXIS_Y = BOX_Y + BOX_H + 16;
const DOT = 26;
const HEIGHT = 232;

function windowName(w: RateWindow, i: number): string {
  if (w.kind === 'past') return 'previous window';
  if (w.kind === 'current') return 'current window';
  return i === 2 ? 'next window' : 'window after next';
}

function windowSummary(w: RateWindow, rate: number, remainingMs: number): string {
  if (w.kind === 'past') return `${w.started} started`;
  if (w.kind === 'current') {
    const waiting = w.projected > 0 ? `, ${w.projected} more to start` : '';
    return `${w.started} of ${rate} started${waiting}, ${formatDuration(remainingMs)} left`;
  }
  return w.projected > 0 ? `${w.projected} waiting to start` : 'nothing waiting for it yet';
}

/** The started requests' circles in a window's box, then the waiters pushed to it after them. */
function windowCircles(w: RateWindow, box: { x: number; width: number }) {
  const done = circlesInBox(w.started, box, DOT);
  const pushed = circlesInBox(
    w.projected,
    { x: box.x + done.xs.length * (DOT + 6), width: box.width - done.xs.length * (DOT + 6) },
    DOT,
  );
  return { done, pushed };
}

/**
 * The docs' rate picture, live: period windows on a time axis, the starts inside each window,
 * the current window's use with a moving "now", and the waiters pushed to the windows that will
 * start them.
 */
export function RateTimeline({ k, arrival }: RateTimelineProps) {
  const store = useAppStoreApi();
  const now = useNow(250);
  const clockOffsetMs = useAppStore(selectClockOffset);
  const globalParallelism = useAppStore(selectGlobalParallelism);
  const globalInFlight = useAppStore(selectGlobalInFlight);
  // Re-read at every tick: the history is mutated in place (see shared/history.ts).
  const starts = store.getState().histories.get(k.key)?.starts ?? [];
  const blocked = explainWait(k, { now, globalParallelism, globalInFlight }).reason;
  const waitingForRate = blocked === 'rate' ? k.waitListSize : 0;
  const view = rateWindows({
    now,
    ratePeriodStart: k.ratePeriodStart,
    periodMs: k.periodMs,
    rate: k.rate,
    rateCount: k.rateCount,
    starts,
    waitingForRate,
  });
  const { boxes } = windowBoxes(view.windows, X0, X1);
  const marker = useRef<SVGGElement>(null);
  const start = view.windows[0]?.start ?? 0;
  const end = view.windows[view.windows.length - 1]?.end ?? 1;

  // The marker moves every frame without React: a ref and a transform, not state.
  useEffect(() => {
    let frame = 0;
    const tick = () => {
      const t = Date.now() + clockOffsetMs;
      const px = X0 + ((t - start) / (end - start)) * (X1 - X0);
      marker.current?.setAttribute('transform', `translate(${Math.min(X1, Math.max(X0, px))} 0)`);
      frame = requestAnimationFrame(tick);
    };
    tick();
    return () => cancelAnimationFrame(frame);
  }, [start, end, clockOffsetMs]);

  const label = `Rate=${k.rate} and Period=${formatPeriod(k.periodMs)}`;
  const refused = arrival?.reason === 'rate' ? arrival : undefined;
  // As the docs draw it: the arrow points at the first empty place in the full window.
  const currentBox = boxes[1];
  const refusedX =
    currentBox === undefined
      ? 0
      : Math.min(
          currentBox.x + currentBox.width - 24,
          currentBox.x + 14 + DOT / 2 + view.current.started * (DOT + 6) + 18,
        );
  return (
    <svg
      className="diagram rate"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="group"
      aria-label={`Rate windows: ${label}`}
    >
      <text className="frame-title" x={WIDTH / 2} y={28} textAnchor="middle">
        {label}
      </text>
      <g role="list" aria-label="Rate windows">
        {view.windows.map((w, i) => {
          const box = boxes[i]!;
          const { done, pushed } = windowCircles(w, box);
          const name = windowName(w, i);
          return (
            <g
              key={w.start}
              role="listitem"
              aria-label={`${name}: ${windowSummary(w, k.rate, view.remainingMs)}`}
              className={`window window-${w.kind}`}
            >
              <text
                className="window-label"
                x={box.x + box.width / 2}
                y={BOX_Y - 10}
                textAnchor="middle"
              >
                {periodLabel(k.periodMs)}
              </text>
              <Rough
                paths={roundedRectPaths(box.width, BOX_H, {
                  fill: w.kind === 'past' ? palette.requestFill : palette.tokenFill,
                  stroke: w.kind === 'past' ? palette.muted : palette.windowLine,
                  strokeWidth: w.kind === 'current' ? 3.5 : 2.5,
                  seed: i,
                })}
                x={box.x}
                y={BOX_Y}
              />
              {done.overflow + pushed.overflow > 0 && (
                <text
                  className="more"
                  x={box.x + box.width - 12}
                  y={BOX_Y + BOX_H / 2 + 6}
                  textAnchor="end"
                >
                  +{done.overflow + pushed.overflow}
                </text>
              )}
              <text
                className="window-note"
                x={box.x + box.width / 2}
                y={AXIS_Y + 30}
                textAnchor="middle"
              >
                {w.kind === 'current'
                  ? `${w.started} of ${k.rate} used · ${formatDuration(view.remainingMs)} left`
                  : w.kind === 'past'
                    ? `${w.started} started`
                    : w.projected > 0
                      ? `${w.projected} waiting`
                      : ''}
              </text>
            </g>
          );
        })}
      </g>
      <Rough paths={arrowPaths(X0 - 12, AXIS_Y, X1 + 24, AXIS_Y, palette.ink, 4)} />
      <text className="axis-label" x={X1 + 36} y={AXIS_Y + 8}>
        time
      </text>
      {view.later > 0 && (
        <text className="more" x={X1} y={BOX_Y - 10} textAnchor="end">
          +{view.later} later
        </text>
      )}
      <g ref={marker} className="now-marker" aria-hidden="true">
        <Rough paths={linePaths(0, BOX_Y - 4, 0, AXIS_Y + 6, palette.alertLine, 2, 5)} />
        <text className="now-label" y={AXIS_Y + 52} textAnchor="middle">
          now
        </text>
      </g>
      {/* Drawn over the "now" line, so it never cuts a started request's circle. */}
      <g aria-hidden="true">
        {view.windows.map((w, i) => {
          const { done, pushed } = windowCircles(w, boxes[i]!);
          return (
            <g key={w.start}>
              {done.xs.map((cx, j) => (
                <g key={`s${j}`} transform={`translate(${cx} ${BOX_Y + BOX_H / 2})`}>
                  {/* An opaque disc under the sketch, which is not filled edge to edge. */}
                  <circle r={DOT / 2} fill={palette.requestFill} />
                  <Rough paths={circlePaths(DOT, 'request', j % 4)} />
                </g>
              ))}
              {pushed.xs.map((cx, j) => (
                <g key={`p${j}`} transform={`translate(${cx} ${BOX_Y + BOX_H / 2})`}>
                  <circle r={DOT / 2} fill={palette.waiterFill} />
                  <Rough paths={circlePaths(DOT, 'waiter', j % 4)} />
                </g>
              ))}
            </g>
          );
        })}
      </g>
      {refused !== undefined && (
        <RateRefused key={refused.receivedAt} arrival={refused} x={refusedX} />
      )}
    </svg>
  );
}

/** The docs' second rate picture: a request arriving at a full window, its arrow pointing in. */
function RateRefused({ arrival, x }: { arrival: Arrival; x: number }) {
  if (!useRecent(arrival.receivedAt, ARRIVAL_MS)) return null;
  return (
    <g className="rate-refused" aria-hidden="true">
      <Rough paths={arrowPaths(x, HEIGHT - 30, x, BOX_Y + BOX_H - 16, palette.alertLine, 2)} />
      <Rough paths={circlePaths(DOT, 'alert', 1)} x={x} y={HEIGHT - 16} />
    </g>
  );
}
