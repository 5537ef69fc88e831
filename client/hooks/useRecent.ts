import { useEffect, useState } from 'react';

/**
 * True until `forMs` after page time `since`, then false (one re-render, by a timer): for marks
 * that show a moment and then go, like a refused arrival.
 */
export function useRecent(since: number, forMs: number): boolean {
  const [expired, setExpired] = useState<number | null>(null);
  useEffect(() => {
    const timer = setTimeout(() => setExpired(since), Math.max(0, since + forMs - Date.now()));
    return () => clearTimeout(timer);
  }, [since, forMs]);
  return expired !== since;
}
