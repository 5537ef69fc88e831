import type { CSSProperties, ReactNode } from 'react';
import { useRecent } from '../hooks/useRecent';
import { ARRIVAL_MS, type Arrival } from '../store/activity';
import type { KeyLayout, Point } from '../viz/key-layout';
import { ITEM } from '../viz/key-layout';
import { palette } from '../viz/palette';
import { arrowPaths, circlePaths } from '../viz/rough-shapes';
import { Rough } from './Rough';

export interface ArrivalSketchProps {
  /** The refused request (its reason picks the words). */
  arrival: Arrival;
  /** The diagram's layout: where the sketch's circle, arrow and words go. */
  layout: KeyLayout;
  /** Where the refused request ends up: its place in the waitlist. */
  target: Point;
  /** Drawn instead once the sketch's time is up. */
  children?: ReactNode;
}

const LABELS: Record<Arrival['reason'], string[]> = {
  parallelism: ['No available', 'token'],
  global: ['Global limit', 'reached'],
  paused: ['Key is', 'paused'],
  rate: ['Rate', 'used up'],
};

/**
 * The docs' second picture: a request that found no free token, drawn red under the token
 * column with an arrow and "No available token", which then glides into its place in the
 * waitlist. It removes itself when its time is up; the waiter underneath is already in the list.
 */
export function ArrivalSketch({ arrival, layout, target, children }: ArrivalSketchProps) {
  const visible = useRecent(arrival.receivedAt, ARRIVAL_MS);
  if (!visible) return children;
  const { circle, arrowFrom, arrowTo, label } = layout.arrival;
  const [line1, line2] = LABELS[arrival.reason];
  const glide = {
    '--dx': `${target.x - circle.x}px`,
    '--dy': `${target.y - circle.y}px`,
  } as CSSProperties;
  return (
    <g className="arrival" aria-hidden="true">
      <g className="arrival-note">
        <Rough
          paths={arrowPaths(arrowFrom.x, arrowFrom.y, arrowTo.x, arrowTo.y, palette.alertLine)}
        />
        <text className="alert-label" x={label.x} y={label.y - 6}>
          {line1}
        </text>
        <text className="alert-label" x={label.x} y={label.y + 22}>
          {line2}
        </text>
      </g>
      <g className="arrival-request" style={glide}>
        <Rough paths={circlePaths(ITEM, 'alert', 3)} x={circle.x} y={circle.y} />
      </g>
    </g>
  );
}
