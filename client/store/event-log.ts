/**
 * The event log's data: the latest events in arrival order, with a mark where a snapshot replaced
 * the state (after a reconnect or a resync), and the filters the log view offers.
 */
import type { EngineEvent, EngineEventType } from '../../shared/events';

/** Entries kept; older ones scroll away. */
export const LOG_LIMIT = 2000;

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
