import v8 from 'node:v8';
import vm from 'node:vm';
import type { FlowController } from './controller';
import type { Timers } from './types';

/**
 * Gives memory back once the server goes quiet: when nothing has been in flight for `quietMs`,
 * one full garbage collection (at most every `minIntervalMs`). After a drain V8 keeps the heap a
 * burst grew; a full collection lets it shrink to what is still held (the bounded history and
 * logs), and the operating system gets the rest back. Never on the delivery path: the check per
 * event batch is one comparison, the collection runs from a timer.
 */
export function releaseMemoryWhenQuiet(
  controller: Pick<FlowController, 'inFlightHere' | 'onEvents'>,
  timers: Timers,
  { quietMs = 2_000, minIntervalMs = 60_000, gc = exposedGc(), now = Date.now } = {},
): () => void {
  if (gc === undefined) return () => {};
  let timer: unknown = null;
  let lastAt = -Infinity;
  let wasBusy = false;
  const busy = (then: (inFlight: boolean) => void) => then(controller.inFlightHere > 0);
  const off = controller.onEvents(() =>
    busy((inFlight) => {
      if (inFlight) {
        wasBusy = true;
        if (timer !== null) timers.clear(timer);
        timer = null;
        return;
      }
      if (!wasBusy || timer !== null) return;
      timer = timers.set(() => {
        timer = null;
        busy((still) => {
          if (still || now() - lastAt < minIntervalMs) return;
          wasBusy = false;
          lastAt = now();
          gc();
        });
      }, quietMs);
    }),
  );
  return () => {
    off();
    if (timer !== null) timers.clear(timer);
  };
}

/** `gc()`, made available at run time (as `--expose-gc` would); undefined where V8 refuses. */
function exposedGc(): (() => void) | undefined {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}
