import type { AttemptResult } from '../../shared/engine/types';
import { ms } from '../../shared/engine/units';
import { parseRetryDelay, retryDelayMs } from '../../shared/protocol/retry-delay';
import type { Deliverer, Delivery } from '../flow/types';

/**
 * Sends `sim://` destinations to the simulator and everything else to the HTTP deliverer, and
 * applies the message's `Upstash-Retry-Delay` to a failed attempt of either kind (a delay the
 * destination itself asked for, such as `Retry-After`, wins).
 */
export function routeDeliverer(routes: { sim: Deliverer; http: Deliverer }): Deliverer {
  return {
    deliver(delivery: Delivery): Promise<AttemptResult> {
      const attempt = delivery.payload.destination.startsWith('sim://')
        ? routes.sim.deliver(delivery)
        : routes.http.deliver(delivery);
      return delivery.payload.retryDelay === undefined
        ? attempt
        : attempt.then((result) => withRetryDelay(delivery, result));
    },
  };
}

function withRetryDelay(delivery: Delivery, result: AttemptResult): AttemptResult {
  const expr = delivery.payload.retryDelay;
  if (result.ok || result.retryDelayMs !== undefined || expr === undefined) return result;
  try {
    return { ...result, retryDelayMs: ms(retryDelayMs(parseRetryDelay(expr), delivery.attempt)) };
  } catch {
    return result; // validated at publish; an unreadable one falls back to the default backoff
  }
}
