import type { FlowController } from './controller';

/** What a stop left behind, counted when it ended. */
export interface ShutdownReport {
  /** Deliveries that were in flight when the stop began and finished within the timeout. */
  finished: number;
  /** Deliveries still in flight at the timeout: their answer is never read. */
  abandoned: number;
  /** Messages ready but not started (waitlists). */
  waiting: number;
  /** Messages delayed, or waiting for a retry's backoff. */
  scheduled: number;
  /** How long the stop waited for deliveries in flight. */
  waitedMs: number;
}

/**
 * Stops starting deliveries and waits for those in flight, at most `timeoutMs`. Every key is
 * paused (the dashboard shows it so), so a finishing delivery hands its token to nobody and a retry
 * that comes due waits; then counts what is left. The caller stops accepting requests first.
 */
export async function drain(
  controller: FlowController,
  timeoutMs: number,
): Promise<ShutdownReport> {
  const started = Date.now();
  const inFlight = async () => (await controller.global()).inFlight;
  const inFlightAtStart = await inFlight();
  for (const k of await controller.keys()) await controller.pause(k.key);
  if ((await inFlight()) > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const off = controller.onEvents(() => {
        void inFlight().then((n) => n === 0 && done());
      });
      function done() {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  }
  let waiting = 0;
  let scheduled = 0;
  for (const k of await controller.keys()) {
    waiting += k.waitListSize;
    scheduled += k.scheduled;
  }
  const abandoned = await inFlight();
  return {
    finished: inFlightAtStart - abandoned,
    abandoned,
    waiting,
    scheduled,
    waitedMs: Date.now() - started,
  };
}
