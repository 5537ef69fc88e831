import type { AttemptResult } from '../../shared/engine/types';
import type { Deliverer, Delivery } from '../flow/types';

/** Sends `sim://` destinations to the simulator and everything else to the HTTP deliverer. */
export function routeDeliverer(routes: { sim: Deliverer; http: Deliverer }): Deliverer {
  return {
    deliver(delivery: Delivery): Promise<AttemptResult> {
      return delivery.payload.destination.startsWith('sim://')
        ? routes.sim.deliver(delivery)
        : routes.http.deliver(delivery);
    },
  };
}
