/**
 * What the chaos test checks in its destination's records, as pure functions of them (unit-tested
 * in chaos-checks.test.ts): deliveries per message, the kill's duplicates, in flight per key and
 * starts per rate window.
 */
import type { Attempt } from './chaos-destination';

/** Groups attempts by a field, keeping their order. */
export function groupBy<T>(items: readonly T[], by: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = by(item);
    const list = out.get(k);
    if (list === undefined) out.set(k, [item]);
    else list.push(item);
  }
  return out;
}

export interface DeliveryReport {
  /** Accepted ids never answered by the destination. */
  missing: string[];
  /** Ids that arrived without having been accepted. */
  unknown: string[];
  /** Ids answered more than once, with their attempts. */
  duplicates: Array<{ id: string; attempts: Attempt[] }>;
  /** Attempts whose server died before the answer. */
  abandoned: Attempt[];
}

/** Each accepted id against its attempts at the destination. */
export function deliveryReport(
  accepted: ReadonlySet<string>,
  attempts: readonly Attempt[],
): DeliveryReport {
  const byId = groupBy(attempts, (a) => a.id);
  const missing = [...accepted].filter(
    (id) => !(byId.get(id) ?? []).some((a) => a.end !== null && !a.abandoned),
  );
  const unknown = [...byId.keys()].filter((id) => !accepted.has(id));
  const duplicates = [...byId]
    .filter(([, list]) => list.filter((a) => !a.abandoned).length > 1)
    .map(([id, list]) => ({ id, attempts: list }));
  return { missing, unknown, duplicates, abandoned: attempts.filter((a) => a.abandoned) };
}

/** The most attempts of each key the destination served at once. */
export function mostInFlightByKey(attempts: readonly Attempt[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const a of attempts) out.set(a.key, Math.max(out.get(a.key) ?? 0, a.concurrent));
  return out;
}

export interface RateCheck {
  /** Most arrivals in one fixed window, taking arrival times as start times. */
  strictMost: number;
  /** Arrivals that fit in no window even allowing each to have started up to the slack earlier. */
  overruns: number[];
}

/**
 * Checks arrivals against Baton's rate rule: at most `rate` starts in each fixed window
 * `[windowStart + n·period, …)` (n may be negative). A start reaches the destination a little
 * later than Redis granted it, so each arrival may belong to any window its start could be in,
 * `[arrival - slackMs, arrival + earlyMs]` (`earlyMs`: the two clocks' disagreement). Arrivals are
 * placed in the earliest such window with room, in arrival order (optimal: both ends of the
 * candidate ranges only grow); one that fits nowhere is an overrun.
 */
export function checkRate(
  arrivals: readonly number[],
  { windowStart, periodMs, rate }: { windowStart: number; periodMs: number; rate: number },
  slackMs: number,
  earlyMs = 2,
): RateCheck {
  const windowOf = (t: number): number => Math.floor((t - windowStart) / periodMs);
  const sorted = [...arrivals].sort((x, y) => x - y);
  const strict = new Map<number, number>();
  for (const t of sorted) strict.set(windowOf(t), (strict.get(windowOf(t)) ?? 0) + 1);
  const used = new Map<number, number>();
  const overruns: number[] = [];
  for (const t of sorted) {
    let placed = false;
    for (let w = windowOf(t - slackMs); w <= windowOf(t + earlyMs) && !placed; w++) {
      if ((used.get(w) ?? 0) < rate) {
        used.set(w, (used.get(w) ?? 0) + 1);
        placed = true;
      }
    }
    if (!placed) overruns.push(t);
  }
  return { strictMost: Math.max(0, ...strict.values()), overruns };
}
