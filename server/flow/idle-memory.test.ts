import { describe, expect, it } from 'vitest';
import type { EventListener, FlowController } from './controller';
import { releaseMemoryWhenQuiet } from './idle-memory';
import { manualTime } from '../test/manual-time';

/** A controller reduced to what the releaser reads: in-flight count and the event feed. */
function fakeController() {
  const listeners: EventListener[] = [];
  const c = {
    inFlightHere: 0,
    onEvents(l: EventListener) {
      listeners.push(l);
      return () => {};
    },
  };
  const emit = (inFlight: number) => {
    c.inFlightHere = inFlight;
    for (const l of listeners) l([]);
  };
  return { controller: c as unknown as Pick<FlowController, 'inFlightHere' | 'onEvents'>, emit };
}

describe('releaseMemoryWhenQuiet', () => {
  it('collects once after work has been quiet for a while, and not while work goes on', () => {
    const time = manualTime();
    let at = 0;
    const wait = (ms: number) => time.advance((at += ms));
    const { controller, emit } = fakeController();
    let collections = 0;
    releaseMemoryWhenQuiet(controller, time.timers, {
      quietMs: 1000,
      minIntervalMs: 10_000,
      gc: () => collections++,
      now: () => time.clock.now(),
    });
    emit(0); // never busy yet: nothing to give back
    wait(5000);
    expect(collections).toBe(0);
    emit(3);
    emit(0);
    wait(500);
    emit(2); // busy again before the quiet period ended
    emit(0);
    wait(999);
    expect(collections).toBe(0);
    wait(1);
    expect(collections).toBe(1);
    emit(1);
    emit(0);
    wait(1000);
    expect(collections).toBe(1); // at most once per minIntervalMs
  });
});
