/**
 * Wait-time percentiles from the `waitedMs` of starts: overall, and per time bucket for the
 * over-time chart. Linear interpolation between closest ranks (d3's R-7, the spreadsheet rule).
 */
import { quantileSorted } from 'd3';

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  count: number;
}

/** The p50/p95/p99 of `values`, or null when there are none. */
export function percentiles(values: readonly number[]): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: quantileSorted(sorted, 0.5) ?? 0,
    p95: quantileSorted(sorted, 0.95) ?? 0,
    p99: quantileSorted(sorted, 0.99) ?? 0,
    count: values.length,
  };
}

export interface WaitSample {
  /** When the start happened (server ms). */
  at: number;
  waitedMs: number;
}

export interface PercentileBucket extends Percentiles {
  /** The bucket's end time: the chart draws each bucket's point there. */
  t: number;
}

/**
 * Buckets of `bucketMs` ending at `now`, covering `spanMs`, each with the percentiles of the
 * starts inside it; empty buckets are left out (the chart's line skips them).
 */
export function percentileBuckets(
  samples: readonly WaitSample[],
  now: number,
  spanMs: number,
  bucketMs: number,
): PercentileBucket[] {
  const n = Math.max(1, Math.ceil(spanMs / bucketMs));
  const start = now - n * bucketMs;
  const groups: number[][] = Array.from({ length: n }, () => []);
  for (const s of samples) {
    if (s.at < start || s.at > now) continue;
    groups[Math.min(n - 1, Math.floor((s.at - start) / bucketMs))]!.push(s.waitedMs);
  }
  const out: PercentileBucket[] = [];
  groups.forEach((g, i) => {
    const p = percentiles(g);
    if (p !== null) out.push({ t: start + (i + 1) * bucketMs, ...p });
  });
  return out;
}
