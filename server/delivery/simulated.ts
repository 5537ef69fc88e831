import type { AttemptResult } from '../../shared/engine/types';
import type { Deliverer, Delivery, Timers } from '../flow/types';
import { systemTimers } from '../flow/types';
import { parseSimDestination, type SimSpec } from '../../shared/protocol/sim-destination';

/**
 * Delivers `sim://` destinations inside the server: waits the simulated duration (± jitter) and
 * succeeds or fails with the given probability. Flow control, retries and events are the same as
 * for a real destination.
 */
export class SimulatedDeliverer implements Deliverer {
  constructor(
    private readonly random: () => number = Math.random,
    private readonly timers: Timers = systemTimers,
  ) {}

  deliver(delivery: Delivery): Promise<AttemptResult> {
    let spec: SimSpec;
    try {
      spec = parseSimDestination(delivery.payload.destination);
    } catch (err) {
      return Promise.resolve({ ok: false, error: (err as Error).message, nonRetryable: true });
    }
    const jitter = spec.jitterMs * (2 * this.random() - 1);
    const duration = Math.max(0, Math.round(spec.durationMs + jitter));
    const failed = this.random() < spec.fail;
    return new Promise((resolve) => {
      this.timers.set(
        () =>
          resolve(
            failed
              ? { ok: false, status: spec.failStatus, error: 'simulated failure' }
              : { ok: true, status: 200 },
          ),
        duration,
      );
    });
  }
}

/** A deliverer that resolves at once (benchmarks, and `sim://…?duration=0`-like tests). */
export const instantDeliverer: Deliverer = {
  deliver: () => Promise.resolve({ ok: true, status: 200 }),
};
