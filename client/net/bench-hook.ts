/**
 * The browser benchmark's one window into the page (see bench/browser/): it defines
 * `window.__batonBench` before the page loads and opens the dashboard with `?bench`; the socket
 * layer then reports each frame's applied events to it, so it can time them to their paint.
 * Without `?bench` the hook is never looked up and nothing is called.
 */
import type { EngineEvent } from '../../shared/events';

export interface BenchHook {
  /** The store has just applied `events` (one coalesced frame); the paint comes next. */
  applied(events: readonly EngineEvent[]): void;
}

declare global {
  interface Window {
    __batonBench?: BenchHook;
  }
}

/** The benchmark's hook when the page was opened with `?bench` and the bench defined one. */
export function benchHook(): BenchHook | undefined {
  if (typeof window === 'undefined' || !new URLSearchParams(window.location.search).has('bench'))
    return undefined;
  return window.__batonBench;
}
