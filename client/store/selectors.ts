/** Named selectors: components say what they read, and re-render only when it changes. */
import type { AppState } from './app-store';
import type { KeyView } from './flow-state';

export const selectConnection = (s: AppState) => s.connection;
export const selectStats = (s: AppState) => s.flow.stats;
export const selectSynced = (s: AppState) => s.flow.synced;
export const selectGlobalInFlight = (s: AppState) => s.flow.globalInFlight;

/** Key names in a stable order; read with `useShallow`, since the array is new on every call. */
export const selectKeyNames = (s: AppState): string[] =>
  Object.keys(s.flow.keys).sort((a, b) => a.localeCompare(b));

export const selectKey =
  (name: string) =>
  (s: AppState): KeyView | undefined =>
    s.flow.keys[name];
