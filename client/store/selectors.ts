/** Named selectors: components say what they read, and re-render only when it changes. */
import type { WorkflowTag } from '../../shared/events';
import { FOLLOWED_KEYS, type Arrival } from './activity';
import type { AppState } from './app-store';
import type { KeyView } from './flow-state';

export const selectConnection = (s: AppState) => s.connection;
export const selectStats = (s: AppState) => s.flow.stats;
export const selectSynced = (s: AppState) => s.flow.synced;
export const selectGlobalInFlight = (s: AppState) => s.flow.globalInFlight;
export const selectGlobalParallelism = (s: AppState) => s.flow.globalParallelism;
export const selectClockOffset = (s: AppState) => s.flow.clockOffsetMs;
/** The server time of the latest snapshot or event (when the page last heard from the server). */
export const selectLastHeardAt = (s: AppState) => s.flow.at;
export const selectKeys = (s: AppState) => s.flow.keys;
export const selectKeyCount = (s: AppState) => Object.keys(s.flow.keys).length;
export const selectSearch = (s: AppState) => s.search;
export const selectSort = (s: AppState) => s.sort;
export const selectSelected = (s: AppState) => s.selected;
export const selectLogFilter = (s: AppState) => s.logFilter;
export const selectHistoryVersion = (s: AppState) => s.historyVersion;
export const selectLogVersion = (s: AppState) => s.log;

/** Key names in a stable order; read with `useShallow`, since the array is new on every call. */
export const selectKeyNames = (s: AppState): string[] =>
  Object.keys(s.flow.keys).sort((a, b) => a.localeCompare(b));

export const selectKey =
  (name: string) =>
  (s: AppState): KeyView | undefined =>
    s.flow.keys[name];

/** What a key's count charts show now: in flight, its limit, waiting. */
export interface KeyCounts {
  inFlight: number;
  /** The parallelism limit (null: none). */
  limit: number | null;
  waiting: number;
}

/**
 * The key's counts as its header shows them, or undefined for a key the page does not hold. Read
 * with `useShallow`: the object is new on every call, so a view re-renders only when a count does.
 */
export const selectKeyCounts =
  (name: string) =>
  (s: AppState): KeyCounts | undefined => {
    const k = s.flow.keys[name];
    return k === undefined
      ? undefined
      : { inFlight: k.inFlight, limit: k.parallelism, waiting: k.waitListSize };
  };

/** True when no key is selected and the views follow the latest active keys. */
export const selectFollowing = (s: AppState) => s.selected.length === 0;

/**
 * The keys drawn in full: the selected ones, or else the latest active; before this page has seen
 * any activity (just opened on a busy server), the busiest keys of the snapshot. Read with `useShallow`.
 */
export const selectVisibleKeys = (s: AppState): readonly string[] => {
  if (s.selected.length > 0) return s.selected;
  const recent = s.activity.recentKeys.filter((k) => k in s.flow.keys);
  return recent.length > 0 ? recent : busiestKeys(s.flow.keys, FOLLOWED_KEYS);
};

/** Up to `n` keys with work in flight or waiting, busiest first. */
export function busiestKeys(keys: Readonly<Record<string, KeyView>>, n: number): string[] {
  return Object.values(keys)
    .filter((k) => k.inFlight + k.waitListSize > 0)
    .sort((a, b) => b.inFlight + b.waitListSize - (a.inFlight + a.waitListSize))
    .slice(0, n)
    .map((k) => k.key);
}

/** The key's latest refused arrival while its sketch plays (see ARRIVAL_MS). */
export const selectArrival =
  (name: string) =>
  (s: AppState): Arrival | undefined =>
    s.activity.arrivals[name];

export const selectIsSelected = (name: string) => (s: AppState) => s.selected.includes(name);

/** The Workflow step a message is, when the page knows it to be one. */
export const selectWorkflowTag =
  (id: string) =>
  (s: AppState): WorkflowTag | undefined =>
    Object.hasOwn(s.flow.workflows, id) ? s.flow.workflows[id] : undefined;

/**
 * The Workflow steps among a key's active and listed waiting messages, by message id. Read with
 * `useShallow`: the object is new on every call, its tags are the store's own.
 */
export const selectKeySteps =
  (name: string) =>
  (s: AppState): Record<string, WorkflowTag> =>
    keySteps(s.flow.keys[name], s.flow.workflows);

/** The steps of `k`'s drawn messages, out of every message's `workflows`. */
export function keySteps(
  k: KeyView | undefined,
  workflows: Readonly<Record<string, WorkflowTag>>,
): Record<string, WorkflowTag> {
  const out: Record<string, WorkflowTag> = {};
  if (k === undefined) return out;
  for (const { messageId } of [...k.active, ...k.waiting]) {
    const tag = Object.hasOwn(workflows, messageId) ? workflows[messageId] : undefined;
    if (tag !== undefined) out[messageId] = tag;
  }
  return out;
}
