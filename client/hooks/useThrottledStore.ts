import { useCallback, useSyncExternalStore } from 'react';
import type { AppState } from '../store/app-store';
import { useAppStoreApi } from '../store/useAppStore';

/**
 * Reads the store at most every `intervalMs`: for views of fast-changing data (the overview of
 * thousands of keys, the log, the charts) that need not repaint with every frame of events.
 * `selector` must return a value that stays the same object while unchanged (a slice of the
 * state, not a new array); derive from it with `useMemo`.
 */
export function useThrottledStore<T>(selector: (s: AppState) => T, intervalMs: number): T {
  const store = useAppStoreApi();
  const subscribe = useCallback(
    (notify: () => void) => {
      // Leading and trailing: the first change shows at once, later ones at most every interval.
      let timer: ReturnType<typeof setTimeout> | null = null;
      let last = 0;
      const fire = () => {
        timer = null;
        last = performance.now();
        notify();
      };
      const off = store.subscribe(() => {
        if (timer !== null) return;
        const wait = last + intervalMs - performance.now();
        if (wait <= 0) fire();
        else timer = setTimeout(fire, wait);
      });
      return () => {
        off();
        if (timer !== null) clearTimeout(timer);
      };
    },
    [store, intervalMs],
  );
  return useSyncExternalStore(subscribe, () => selector(store.getState()));
}
