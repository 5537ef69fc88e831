import type { FlowController } from './controller';

/** What a stop left behind, counted when it ended. */
export interface ShutdownReport {
  /** Deliveries that were in flight when the stop began and finished within the timeout. */
  finished: number;
  /**
   * Deliveries still in flight at the timeout: their answer is never read. With a shared store
   * their leases were given back: the other servers deliver them again at once.
   */
  abandoned: number;
  /** Messages ready but not started (waitlists). */
  waiting: number;
  /** Messages delayed, or waiting for a retry's backoff. */
  scheduled: number;
  /** How long the stop waited for deliveries in flight. */
  waitedMs: number;
}

/**
 * Stops starting deliveries and waits for this process's in flight, at most `timeoutMs`; then
 * counts what is left. With the memory store every key is paused (the dashboard shows it so), so a
 * finishing delivery hands its token to nobody and a retry that comes due waits. A shared store's
 * keys are not paused (the other servers go on with them): from the start of the stop its tokens
 * go to the other servers, and at the timeout the leases of what is still in flight are given
 * back to them. The caller stops accepting requests first.
 */
export async function drain(
  controller: FlowController,
  timeoutMs: number,
): Promise<ShutdownReport> {
  const started = Date.now();
  const inFlightAtStart = controller.inFlightHere;
  if (controller.storeKind === 'memory') {
    for (const k of await controller.keys()) await controller.pause(k.key);
  }
  controller.stopStarting();
  if (controller.inFlightHere > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const off = controller.onEvents(() => {
        if (controller.inFlightHere === 0) done();
      });
      function done() {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  }
  if (controller.inFlightHere > 0) {
    // Should Redis not answer, the leases run out instead.
    await controller.releaseAbandoned().catch(() => 0);
  }
  let waiting = 0;
  let scheduled = 0;
  for (const k of await controller.keys()) {
    waiting += k.waitListSize;
    scheduled += k.scheduled;
  }
  const abandoned = controller.inFlightHere;
  return {
    finished: inFlightAtStart - abandoned,
    abandoned,
    waiting,
    scheduled,
    waitedMs: Date.now() - started,
  };
}
