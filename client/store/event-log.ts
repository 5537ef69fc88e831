/**
 * The event log's data: the latest events in arrival order, with a mark where a snapshot replaced
 * the state (after a reconnect or a resync), and the filters the log view offers.
 */
import type { EngineEvent, EngineEventType } from '../../shared/events';
import { RECENT_EVENTS } from '../../shared/history';

/** Entries kept; older ones scroll away. A snapshot brings as many of the latest events. */
export const LOG_LIMIT = RECENT_EVENTS;

/** Where a snapshot replaced the picture; events before it may have been missed. */
export interface SnapshotMark {
  type: 'snapshot';
  seq: number;
  at: number;
  key: '';
  keys: number;
}

export type LogEntry = EngineEvent | SnapshotMark;

/** The log with `entries` appended, the oldest dropped past LOG_LIMIT. */
export function appendLog(log: readonly LogEntry[], entries: readonly LogEntry[]): LogEntry[] {
  if (entries.length >= LOG_LIMIT) return entries.slice(entries.length - LOG_LIMIT);
  const overflow = Math.max(0, log.length + entries.length - LOG_LIMIT);
  return [...log.slice(overflow), ...entries];
}

/**
 * The log after a snapshot: what it held before the snapshot's `recent` events (which replace
 * any it had of theirs, and fill a gap it missed), then those, then the snapshot's mark. After a
 * server restart (its `seq` went back), everything held stays, before the new server's events.
 */
export function logAfterSnapshot(
  log: readonly LogEntry[],
  recent: readonly EngineEvent[],
  mark: SnapshotMark,
): LogEntry[] {
  const first = recent[0]?.seq;
  let lastSeq = 0;
  for (let i = log.length - 1; i >= 0; i--) {
    if (log[i]!.type !== 'snapshot') {
      lastSeq = log[i]!.seq;
      break;
    }
  }
  const restarted = lastSeq > mark.seq;
  const kept = first === undefined || restarted ? log : log.filter((e) => e.seq < first);
  return appendLog(kept, [...recent, mark]);
}

/** A type filter: one event type, every type of a resource (`token:*`), or everything (''). */
export type TypeFilter = '' | EngineEventType | `${string}:*`;

export interface LogFilter {
  /** Part of a key name, any case; '' for every key. */
  key: string;
  type: TypeFilter;
}

/** Whether an entry passes the filter. Snapshot marks show only when nothing is filtered. */
export function matchesFilter(entry: LogEntry, filter: LogFilter): boolean {
  if (entry.type === 'snapshot') return filter.key === '' && filter.type === '';
  if (filter.key !== '' && !entry.key.toLowerCase().includes(filter.key.toLowerCase()))
    return false;
  if (filter.type === '') return true;
  if (filter.type.endsWith(':*')) return entry.type.startsWith(filter.type.slice(0, -1));
  return entry.type === filter.type;
}

/** The entries that pass, newest first (the order the log shows them). */
export function filterLog(log: readonly LogEntry[], filter: LogFilter): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = log.length - 1; i >= 0; i--) {
    const e = log[i]!;
    if (matchesFilter(e, filter)) out.push(e);
  }
  return out;
}
