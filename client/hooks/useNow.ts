import { useMemo, useSyncExternalStore } from 'react';
import { selectClockOffset } from '../store/selectors';
import { useAppStore } from '../store/useAppStore';

function ticker(intervalMs: number) {
  return (notify: () => void) => {
    const id = setInterval(notify, intervalMs);
    return () => clearInterval(id);
  };
}

/**
 * The server's clock, moving every `intervalMs` (page time plus the offset measured at the last
 * snapshot), so ages and countdowns re-render on a schedule instead of with every event.
 */
export function useNow(intervalMs: number): number {
  const offset = useAppStore(selectClockOffset);
  const subscribe = useMemo(() => ticker(intervalMs), [intervalMs]);
  // Rounded to the interval, so React sees the same value until the next tick.
  const page = useSyncExternalStore(
    subscribe,
    () => Math.floor(Date.now() / intervalMs) * intervalMs,
  );
  return page + offset;
}
