import { memo } from 'react';
import type { RoughPath } from '../viz/rough-shapes';

export interface RoughProps {
  /** Paths from one of the `viz/rough-shapes` functions. */
  paths: readonly RoughPath[];
  x?: number;
  y?: number;
  className?: string;
}

/** Draws a hand-drawn shape computed by roughjs, placed at (x, y). */
export const Rough = memo(function Rough({ paths, x = 0, y = 0, className }: RoughProps) {
  return (
    <g transform={x === 0 && y === 0 ? undefined : `translate(${x} ${y})`} className={className}>
      {paths.map((p, i) => (
        <path
          key={i}
          d={p.d}
          stroke={p.stroke}
          strokeWidth={p.strokeWidth}
          fill={p.fill ?? 'none'}
          strokeLinecap="round"
          strokeLinejoin="round"
        />
      ))}
    </g>
  );
});
