import { ms, type Millis } from '../engine/units';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Parses a QStash duration: `<int><unit>` pieces with units s, m, h, d (`1d10h30m`), or a bare
 * integer meaning seconds. Returns null when the text is not one.
 */
export function parseDuration(text: string, allowCombined = true): Millis | null {
  const t = text.trim();
  if (/^\d+$/.test(t)) return ms(Number(t) * 1000);
  const re = allowCombined ? /^(?:\d+[smhd])+$/ : /^\d+[smhd]$/;
  if (!re.test(t)) return null;
  let total = 0;
  for (const [, n, unit] of t.matchAll(/(\d+)([smhd])/g)) {
    total += Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  return Number.isSafeInteger(total) ? ms(total) : null;
}

/** Formats milliseconds the way QStash writes periods: the largest unit that divides evenly. */
export function formatPeriod(periodMs: Millis): string {
  for (const [unit, size] of [
    ['d', UNIT_MS.d],
    ['h', UNIT_MS.h],
    ['m', UNIT_MS.m],
  ] as const) {
    if (periodMs % size === 0) return `${periodMs / size}${unit}`;
  }
  return periodMs % 1000 === 0 ? `${periodMs / 1000}s` : `${periodMs}ms`;
}
