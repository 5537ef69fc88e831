import { describe, expect, it } from 'vitest';
import {
  arrowPaths,
  circlePaths,
  diamondPaths,
  roundedRectPaths,
  variantOf,
  VARIANTS,
} from './rough-shapes';
import { palette } from './palette';

describe('rough shapes', () => {
  it('draws the same shape the same way every time (no wobble between renders)', () => {
    expect(circlePaths(36, 'waiter', 2)).toBe(circlePaths(36, 'waiter', 2));
    expect(circlePaths(36, 'waiter', 2)).not.toBe(circlePaths(36, 'waiter', 3));
  });

  it('uses the docs’ colours: blue diamonds, yellow waiters, red refusals', () => {
    const colours = (paths: ReturnType<typeof diamondPaths>) =>
      paths.flatMap((p) => [p.fill, p.stroke]).filter((c) => c !== undefined && c !== 'none');
    expect(colours(diamondPaths(24))).toEqual(
      expect.arrayContaining([palette.tokenFill, palette.tokenLine]),
    );
    expect(colours(circlePaths(36, 'waiter'))).toEqual(
      expect.arrayContaining([palette.waiterFill, palette.waiterLine]),
    );
    expect(colours(circlePaths(36, 'alert'))).toContain(palette.alertLine);
  });

  it('gives arrows a shaft and a head, and rectangles a path', () => {
    expect(arrowPaths(0, 100, 0, 0, palette.alertLine).length).toBeGreaterThanOrEqual(2);
    expect(roundedRectPaths(200, 60, { stroke: palette.windowLine })[0]!.d).toMatch(/^M/);
  });

  it('picks a stable variant per id', () => {
    expect(variantOf('msg_abc')).toBe(variantOf('msg_abc'));
    expect(variantOf('msg_abc')).toBeGreaterThanOrEqual(0);
    expect(variantOf('msg_abc')).toBeLessThan(VARIANTS);
  });
});
