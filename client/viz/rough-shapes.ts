/**
 * The docs' hand-drawn shapes as SVG path data, computed by roughjs with a fixed seed so a shape
 * never wobbles between renders. Every shape is drawn once at the origin and memoized; callers
 * place it with a `transform`, so a key with forty waiters costs forty `<path>` elements and no
 * roughjs work after the first frame.
 */
import { RoughGenerator } from 'roughjs/bin/generator';
import type { Options, PathInfo } from 'roughjs/bin/core';
import { palette } from './palette';

/** One stroke or fill of a shape, ready for `<path d stroke strokeWidth fill>`. */
export type RoughPath = PathInfo;

const generator = new RoughGenerator();
const cache = new Map<string, RoughPath[]>();
const MAX_CACHED = 4000;

/** How many hand-drawn variants of each small shape exist; items pick one by their id. */
export const VARIANTS = 4;

function memo(id: string, draw: () => RoughPath[]): RoughPath[] {
  let paths = cache.get(id);
  if (paths === undefined) {
    // Sizes come from fixed layouts, so the set of shapes is small; the cap only guards a leak.
    if (cache.size >= MAX_CACHED) cache.clear();
    paths = draw();
    cache.set(id, paths);
  }
  return paths;
}

function base(seed: number, extra: Options): Options {
  return {
    seed: seed + 1,
    roughness: 1,
    bowing: 1,
    strokeWidth: 2.5,
    fillStyle: 'solid',
    fixedDecimalPlaceDigits: 1,
    ...extra,
  };
}

/** A stable variant number in [0, VARIANTS) for an id, so each item keeps its own wobble. */
export function variantOf(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) | 0;
  return Math.abs(h) % VARIANTS;
}

/** The docs' token: a light-blue diamond with a blue outline and softened corners. */
export function diamondPaths(size: number, variant = 0): RoughPath[] {
  return memo(`diamond:${size}:${variant}`, () => {
    const h = size / 2;
    const c = size * 0.12;
    // Corners rounded with a short quadratic curve, as Excalidraw draws a diamond.
    const d =
      `M ${-c} ${-h + c} Q 0 ${-h} ${c} ${-h + c} L ${h - c} ${-c} Q ${h} 0 ${h - c} ${c} ` +
      `L ${c} ${h - c} Q 0 ${h} ${-c} ${h - c} L ${-h + c} ${c} Q ${-h} 0 ${-h + c} ${-c} Z`;
    return generator.toPaths(
      generator.path(
        d,
        base(variant, { fill: palette.tokenFill, stroke: palette.tokenLine, roughness: 0.6 }),
      ),
    );
  });
}

/** The request styles of the docs: active (grey, black line), waiting (yellow), refused (red). */
export type CircleStyle = 'request' | 'waiter' | 'alert' | 'ghost';

const circleColours: Record<CircleStyle, { fill: string; stroke: string }> = {
  request: { fill: palette.requestFill, stroke: palette.requestLine },
  waiter: { fill: palette.waiterFill, stroke: palette.waiterLine },
  alert: { fill: palette.alertFill, stroke: palette.alertLine },
  ghost: { fill: 'none', stroke: palette.muted },
};

/** A hand-drawn circle of `diameter`, centred on the origin. */
export function circlePaths(diameter: number, style: CircleStyle, variant = 0): RoughPath[] {
  return memo(`circle:${diameter}:${style}:${variant}`, () =>
    generator.toPaths(
      generator.circle(0, 0, diameter, base(variant, { ...circleColours[style], roughness: 0.9 })),
    ),
  );
}

/** A hand-drawn straight line (column rules, the time axis, arrow shafts). */
export function linePaths(
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  stroke: string,
  strokeWidth = 2.5,
  seed = 0,
): RoughPath[] {
  return memo(`line:${x1}:${y1}:${x2}:${y2}:${stroke}:${strokeWidth}:${seed}`, () =>
    generator.toPaths(generator.line(x1, y1, x2, y2, base(seed, { stroke, strokeWidth }))),
  );
}

/** An arrow from (x1, y1) to (x2, y2) with an open head, as the docs draw "No available token". */
export function arrowPaths(
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  stroke: string,
  seed = 0,
): RoughPath[] {
  return memo(`arrow:${x1}:${y1}:${x2}:${y2}:${stroke}:${seed}`, () => {
    const angle = Math.atan2(y2 - y1, x2 - x1);
    const head = 14;
    const wing = (sign: number) => {
      const a = angle + Math.PI + sign * 0.45;
      return [x2 + head * Math.cos(a), y2 + head * Math.sin(a)] as const;
    };
    const [lx, ly] = wing(-1);
    const [rx, ry] = wing(1);
    const o = base(seed, { stroke, strokeWidth: 2.5, roughness: 0.8 });
    return [
      ...generator.toPaths(generator.line(x1, y1, x2, y2, o)),
      ...generator.toPaths(
        generator.linearPath(
          [
            [lx, ly],
            [x2, y2],
            [rx, ry],
          ],
          o,
        ),
      ),
    ];
  });
}

/** A rounded rectangle from (0, 0), for the docs' frames and period windows. */
export function roundedRectPaths(
  width: number,
  height: number,
  options: { fill?: string; stroke: string; strokeWidth?: number; radius?: number; seed?: number },
): RoughPath[] {
  const w = Math.round(width);
  const h = Math.round(height);
  const r = Math.min(options.radius ?? 14, w / 2, h / 2);
  const key = `rect:${w}:${h}:${r}:${options.fill}:${options.stroke}:${options.strokeWidth}:${options.seed}`;
  return memo(key, () => {
    const d =
      `M ${r} 0 L ${w - r} 0 Q ${w} 0 ${w} ${r} L ${w} ${h - r} Q ${w} ${h} ${w - r} ${h} ` +
      `L ${r} ${h} Q 0 ${h} 0 ${h - r} L 0 ${r} Q 0 0 ${r} 0 Z`;
    return generator.toPaths(
      generator.path(
        d,
        base(options.seed ?? 0, {
          stroke: options.stroke,
          strokeWidth: options.strokeWidth ?? 2.5,
          roughness: 0.7,
          ...(options.fill !== undefined ? { fill: options.fill } : {}),
        }),
      ),
    );
  });
}

/** How many shapes are memoized (tests check the cache stays bounded for repeated draws). */
export function cachedShapeCount(): number {
  return cache.size;
}
