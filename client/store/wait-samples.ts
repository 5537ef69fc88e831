/**
 * The waits the "Wait before start" chart summarizes: every recorded start's wait, and the age so
 * far of every message still waiting. Counting only starts would say "p95 0 ms" while dozens wait:
 * the waits that matter most are the ones not over yet.
 */
import type { WaitRecord } from '../../shared/history';

/** What the chart counts, and how many of each. */
export interface WaitSamples {
  samples: WaitRecord[];
  started: number;
  waiting: number;
}

/**
 * The starts since `since`, plus one sample at `now` per waiter, its age so far. `waiters` are
 * the ones the page lists (the waitlist's head, at most a hundred); the rest joined later, so
 * leaving them out can only raise the percentiles, never hide a long wait.
 */
export function waitSamples(
  waits: readonly WaitRecord[],
  waiters: readonly { readyAt: number }[],
  now: number,
  since: number,
): WaitSamples {
  const samples = waits.filter((w) => w.at >= since && w.at <= now);
  const started = samples.length;
  for (const w of waiters) samples.push({ at: now, waitedMs: Math.max(0, now - w.readyAt) });
  return { samples, started, waiting: waiters.length };
}
