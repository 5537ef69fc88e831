import type { Millis } from '../../shared/engine/units';
import type { Timers } from '../flow/types';

/**
 * A clock and timers a test moves by hand, starting at `start`: nothing waits for real time
 * (a rate window, a retry backoff, a cron tick).
 */
export function manualTime(start = 0) {
  let now = start;
  let next = 1;
  const pending = new Map<number, { at: number; delay: number; fn: () => void }>();
  const timers: Timers = {
    set(fn, delay) {
      const id = next++;
      pending.set(id, { at: now + delay, delay, fn });
      return id;
    },
    clear(h) {
      pending.delete(h as number);
    },
  };
  return {
    clock: { now: () => now as Millis },
    timers,
    /** When each armed timer fires. */
    armed: () => [...pending.values()].map((p) => p.at),
    /** The delay each armed timer was set with. */
    delays: () => [...pending.values()].map((p) => p.delay),
    /** Moves to `to`, running every timer due on the way in time order (and those they arm). */
    advance(to: number) {
      for (;;) {
        const due = [...pending].filter(([, p]) => p.at <= to).sort((a, b) => a[1].at - b[1].at)[0];
        if (due === undefined) break;
        now = Math.max(now, due[1].at);
        pending.delete(due[0]);
        due[1].fn();
      }
      now = to;
    },
    /** Jumps to `to` at once, then runs the timers due (late, as after the machine slept). */
    jump(to: number) {
      now = to;
      for (const [id, p] of [...pending].sort((a, b) => a[1].at - b[1].at)) {
        if (p.at <= to && pending.delete(id)) p.fn();
      }
    },
  };
}
