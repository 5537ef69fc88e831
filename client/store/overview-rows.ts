/**
 * The overview's rows: one per key, searched and sorted. Pure, so thousands of keys are tested
 * without a browser; the view virtualizes what this returns.
 */
import { windowAt } from '../../shared/engine/rate-window';
import { ms } from '../../shared/engine/units';
import type { KeyView } from './flow-types';

export type SortColumn = 'key' | 'inFlight' | 'waiting' | 'rate' | 'state';

export interface SortOrder {
  column: SortColumn;
  descending: boolean;
}

export interface OverviewRow {
  key: string;
  inFlight: number;
  parallelism: number | null;
  waiting: number;
  /** Starts in the current rate window (0 when the window has passed), or null without a rate. */
  rateUsed: number | null;
  rate: number | null;
  periodMs: number;
  paused: boolean;
  pinned: boolean;
}

/** One key's row; `now` (server ms) decides whether its rate window has passed. */
export function toRow(k: KeyView, now: number): OverviewRow {
  return {
    key: k.key,
    inFlight: k.inFlight,
    parallelism: k.parallelism,
    waiting: k.waitListSize,
    rateUsed:
      k.rate === null ? null : windowAt(k.ratePeriodStart, k.periodMs, k.rateCount, ms(now)).count,
    rate: k.rate,
    periodMs: k.periodMs,
    paused: k.paused,
    pinned: k.pinnedParallelism || k.pinnedRate,
  };
}

/** A number that orders rows by a column; keys without the limit sort below those with it. */
function rank(r: OverviewRow, column: SortColumn): number {
  switch (column) {
    case 'inFlight':
      return r.inFlight + (r.parallelism === null ? 0 : r.inFlight / r.parallelism / 2);
    case 'waiting':
      return r.waiting;
    case 'rate':
      return r.rate === null || r.rateUsed === null ? -1 : r.rateUsed / r.rate;
    case 'state':
      return (r.paused ? 2 : 0) + (r.pinned ? 1 : 0);
    case 'key':
      return 0;
  }
}

/** The rows whose key contains `search` (any case), in `order`; ties go by key name. */
export function overviewRows(
  keys: Readonly<Record<string, KeyView>>,
  now: number,
  search: string,
  order: SortOrder,
): OverviewRow[] {
  const needle = search.trim().toLowerCase();
  const rows: OverviewRow[] = [];
  for (const k of Object.values(keys)) {
    if (needle !== '' && !k.key.toLowerCase().includes(needle)) continue;
    rows.push(toRow(k, now));
  }
  const sign = order.descending ? -1 : 1;
  const byName = (a: OverviewRow, b: OverviewRow) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  if (order.column === 'key') rows.sort((a, b) => sign * byName(a, b));
  else rows.sort((a, b) => sign * (rank(a, order.column) - rank(b, order.column)) || byName(a, b));
  return rows;
}
