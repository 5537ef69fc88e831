import { memo, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useNow } from '../hooks/useNow';
import { useThrottledStore } from '../hooks/useThrottledStore';
import { overviewRows, toRow, type OverviewRow, type SortColumn } from '../store/overview-rows';
import {
  selectKey,
  selectKeys,
  selectSearch,
  selectSelected,
  selectSort,
} from '../store/selectors';
import { useAppStore, useAppStoreApi } from '../store/useAppStore';
import { formatPeriod } from './format';
import { MiddleCut } from './MiddleCut';

/** Two lines a row: the key's name across the whole row, its numbers under it. */
const ROW_HEIGHT = 52;

const COLUMNS: ReadonlyArray<{ column: SortColumn; label: string }> = [
  { column: 'key', label: 'Key' },
  { column: 'inFlight', label: 'In flight' },
  { column: 'waiting', label: 'Waiting' },
  { column: 'rate', label: 'Rate' },
  { column: 'state', label: 'State' },
];

function Bar({ value, max }: { value: number; max: number | null }) {
  if (max === null || max === 0) return null;
  const full = Math.min(1, value / max);
  return (
    <span className="bar" aria-hidden="true">
      <span
        className={full >= 1 ? 'bar-fill full' : 'bar-fill'}
        style={{ width: `${full * 100}%` }}
      />
    </span>
  );
}

interface LiveCellsProps {
  /** The row as the (throttled) order saw it: shown if the key has gone from the store since. */
  row: OverviewRow;
  /** Server time, for whether the rate window has passed. */
  now: number;
}

/**
 * A row's numbers, from its key's live view rather than the throttled list that orders the rows:
 * the order may lag a quarter of a second, the numbers never disagree with the key's header. One
 * store subscription per rendered row (a few dozen, however many keys), each re-rendering only
 * when its own key changes.
 */
const LiveCells = memo(function LiveCells({ row: ordered, now }: LiveCellsProps) {
  const k = useAppStore(selectKey(ordered.key));
  const row = useMemo(() => (k === undefined ? ordered : toRow(k, now)), [k, ordered, now]);
  return (
    <>
      <div role="cell" className="num">
        {row.inFlight}/{row.parallelism ?? '∞'}
        <Bar value={row.inFlight} max={row.parallelism} />
      </div>
      <div role="cell" className="num">
        {row.waiting}
      </div>
      <div
        role="cell"
        className="num"
        title={row.rate === null ? 'no rate limit' : `per ${formatPeriod(row.periodMs)}`}
      >
        {row.rate === null ? '—' : `${row.rateUsed}/${row.rate}`}
        <Bar value={row.rateUsed ?? 0} max={row.rate} />
      </div>
      <div role="cell">
        {row.paused && <span className="tag paused">paused</span>}
        {row.pinned && <span className="tag pinned">pinned</span>}
      </div>
    </>
  );
});

/**
 * Every key at a glance: in flight of the limit, waitlist, rate use, paused or pinned; searchable,
 * sortable and virtualized, so five thousand keys cost the same as fifty. Picking a key (click,
 * Enter or Space) keeps it in view; the arrow keys move between rows.
 */
export function Overview() {
  const store = useAppStoreApi();
  const keys = useThrottledStore(selectKeys, 250);
  const search = useAppStore(selectSearch);
  const sort = useAppStore(selectSort);
  const selected = useAppStore(selectSelected);
  const now = useNow(1000);
  const rows = useMemo(() => overviewRows(keys, now, search, sort), [keys, now, search, sort]);
  const total = Object.keys(keys).length;
  const scroller = useRef<HTMLDivElement>(null);
  const [focusIndex, setFocusIndex] = useState<number | null>(null);
  // eslint-disable-next-line react-hooks/incompatible-library -- the virtualizer is read fresh each render on purpose
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 8,
  });

  useEffect(() => {
    if (focusIndex === null) return;
    scroller.current
      ?.querySelector<HTMLButtonElement>(`[data-index="${focusIndex}"] button`)
      ?.focus();
  }, [focusIndex, rows]);

  function onRowKeys(e: KeyboardEvent, index: number) {
    const next =
      e.key === 'ArrowDown'
        ? index + 1
        : e.key === 'ArrowUp'
          ? index - 1
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? rows.length - 1
              : null;
    if (next === null) return;
    e.preventDefault();
    const i = Math.max(0, Math.min(rows.length - 1, next));
    virtualizer.scrollToIndex(i);
    setFocusIndex(i);
  }

  return (
    <section className="panel overview" aria-label="Keys overview">
      <h2>Keys</h2>
      <div className="overview-bar">
        <input
          type="search"
          aria-label="Search keys"
          placeholder="Search keys…  ( / )"
          value={search}
          onChange={(e) => store.getState().searchTyped(e.target.value)}
        />
        <span className="muted" aria-live="polite">
          {rows.length === total
            ? `${total} ${total === 1 ? 'key' : 'keys'}`
            : `${rows.length} of ${total} keys`}
        </span>
      </div>
      <div role="table" aria-label="Keys" aria-rowcount={rows.length + 1} className="ov-table">
        <div role="rowgroup">
          <div role="row" className="ov-row ov-head">
            {COLUMNS.map(({ column, label }) => (
              <div
                key={column}
                role="columnheader"
                aria-sort={
                  sort.column === column ? (sort.descending ? 'descending' : 'ascending') : 'none'
                }
              >
                <button type="button" onClick={() => store.getState().sortRequested(column)}>
                  {label}
                  <span aria-hidden="true" className="sort-mark">
                    {sort.column === column ? (sort.descending ? ' ↓' : ' ↑') : ' ⇅'}
                  </span>
                </button>
              </div>
            ))}
          </div>
        </div>
        <div role="rowgroup" className="ov-body" ref={scroller}>
          {rows.length === 0 && (
            <p className="empty">{total === 0 ? 'No keys yet.' : 'No key matches.'}</p>
          )}
          <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {virtualizer.getVirtualItems().map((v) => {
              const row = rows[v.index]!;
              const isSelected = selected.includes(row.key);
              return (
                <div
                  key={row.key}
                  role="row"
                  aria-rowindex={v.index + 2}
                  aria-selected={isSelected}
                  data-index={v.index}
                  className={`ov-row${isSelected ? ' selected' : ''}`}
                  style={{ transform: `translateY(${v.start}px)`, height: ROW_HEIGHT }}
                >
                  <div role="cell" className="ov-key">
                    <button
                      type="button"
                      aria-label={row.key}
                      aria-pressed={isSelected}
                      onClick={() => store.getState().keyToggled(row.key)}
                      onKeyDown={(e) => onRowKeys(e, v.index)}
                      onFocus={() => setFocusIndex(v.index)}
                    >
                      <MiddleCut name={row.key} query={search} named />
                    </button>
                  </div>
                  <LiveCells row={row} now={now} />
                </div>
              );
            })}
          </div>
        </div>
      </div>
    </section>
  );
}
