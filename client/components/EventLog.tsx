import { useMemo, useRef } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { ENGINE_EVENT_TYPES } from '../../shared/events';
import { useThrottledStore } from '../hooks/useThrottledStore';
import { filterLog, type TypeFilter } from '../store/event-log';
import { selectLogFilter, selectLogVersion } from '../store/selectors';
import { useAppStore, useAppStoreApi } from '../store/useAppStore';
import { describeEntry } from './event-text';
import { clockTime } from './format';
import { MiddleCut } from './MiddleCut';

const ROW_HEIGHT = 26;
const GROUPS: readonly TypeFilter[] = ['message:*', 'token:*', 'delivery:*', 'key:*'];

/**
 * The latest events, newest first, filtered by key and type; virtualized and redrawn at most
 * four times a second, however fast events come.
 */
export function EventLog() {
  const store = useAppStoreApi();
  const log = useThrottledStore(selectLogVersion, 250);
  const filter = useAppStore(selectLogFilter);
  const entries = useMemo(() => filterLog(log, filter), [log, filter]);
  const scroller = useRef<HTMLDivElement>(null);
  // eslint-disable-next-line react-hooks/incompatible-library -- the virtualizer is read fresh each render on purpose
  const virtualizer = useVirtualizer({
    count: entries.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
  });
  return (
    <section className="panel log" aria-label="Event log">
      <div className="log-bar">
        <h2>Event log</h2>
        <input
          type="search"
          aria-label="Filter by key"
          placeholder="key…"
          value={filter.key}
          onChange={(e) => store.getState().logFilterChanged({ key: e.target.value })}
        />
        <select
          aria-label="Filter by event type"
          value={filter.type}
          onChange={(e) =>
            store.getState().logFilterChanged({ type: e.target.value as TypeFilter })
          }
        >
          <option value="">all events</option>
          {GROUPS.map((g) => (
            <option key={g} value={g}>
              {g.replace(':*', ' events')}
            </option>
          ))}
          {ENGINE_EVENT_TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <span className="muted">{entries.length} shown</span>
      </div>
      <div
        className="log-body"
        ref={scroller}
        role="log"
        aria-live="off"
        aria-label="Events, newest first"
      >
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((v) => {
            const e = entries[v.index]!;
            return (
              <div
                key={v.key}
                className={`log-row cat-${e.type.split(':')[0]}`}
                style={{ transform: `translateY(${v.start}px)`, height: ROW_HEIGHT }}
              >
                <span className="log-time">{clockTime(e.at)}</span>
                <span className="log-key">
                  <MiddleCut name={e.key} query={filter.key} />
                </span>
                <span className="log-type">{e.type}</span>
                <span className="log-text" title={describeEntry(e)}>
                  {describeEntry(e)}
                </span>
              </div>
            );
          })}
        </div>
      </div>
    </section>
  );
}
