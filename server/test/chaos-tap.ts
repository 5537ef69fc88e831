/**
 * The chaos test's view of what Redis decided: a Redis store that only listens to the event
 * stream every server writes to (it runs no command and renews nothing, so it takes no part in
 * delivering), keeping each start with Redis's own time and each expired lease.
 */
import type { EngineEvent } from '../../shared/events';
import { RedisStore } from '../store/redis/redis-store';

export interface Start {
  id: string;
  key: string;
  attempt: number;
  /** Redis's time of the grant (epoch ms). */
  at: number;
  /** The key's rate window at the grant, when it has a rate. */
  ratePeriodStart: number | undefined;
}

export async function tapEvents(url: string, prefix: string) {
  // The lease timer is the only thing a store runs on its own; this one never fires.
  const store = await RedisStore.open({ url, prefix, renewEveryMs: 2 ** 31 - 1 });
  const starts: Start[] = [];
  const expired: Array<{ id: string; at: number }> = [];
  store.onEvents((events: readonly EngineEvent[]) => {
    for (const e of events) {
      if (e.type === 'token:acquired' || e.type === 'token:handed-off') {
        starts.push({
          id: e.type === 'token:acquired' ? e.messageId : e.to,
          key: e.key,
          attempt: e.attempt,
          at: e.at,
          ratePeriodStart: e.ratePeriodStart,
        });
      } else if (e.type === 'lease:expired') {
        expired.push({ id: e.messageId, at: e.at });
      }
    }
  });
  return { starts, expired, close: () => store.close() };
}
