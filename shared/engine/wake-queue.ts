import TinyQueue from 'tinyqueue';
import type { KeyState, MessageRecord } from './state';
import { ms, type Millis } from './units';

/** A wake-up: a delayed or retrying message becoming ready, or a key's rate window rolling over. */
interface Wake {
  at: number;
  msg: MessageRecord | null;
  key: KeyState | null;
}

/**
 * The engine's timetable, ordered by instant. Entries are never removed early: one that no longer
 * applies (the message was cancelled, the window timer was moved) is recognised as stale and skipped.
 */
export class WakeQueue {
  private readonly heap = new TinyQueue<Wake>([], (a, b) => a.at - b.at);

  /** `m` becomes ready at `at` (its `readyAt` while scheduled). */
  message(m: MessageRecord, at: Millis): void {
    m.readyAt = at;
    this.heap.push({ at, msg: m, key: null });
  }

  /** `k`'s rate window ends at `at`; only the latest such entry for a key stays live. */
  window(k: KeyState, at: number): void {
    k.windowTimerAt = at;
    this.heap.push({ at, msg: null, key: k });
  }

  /** The earliest live instant, dropping stale entries on the way. */
  next(): Millis | null {
    let w = this.heap.peek();
    while (w !== undefined && stale(w)) {
      this.heap.pop();
      w = this.heap.peek();
    }
    return w === undefined ? null : ms(w.at);
  }

  /** Runs every live entry due at `now`, oldest first, including ones that become due meanwhile. */
  runDue(now: Millis, ready: (m: MessageRecord) => void, windowEnded: (k: KeyState) => void): void {
    let w = this.heap.peek();
    while (w !== undefined && w.at <= now) {
      this.heap.pop();
      if (!stale(w)) {
        if (w.msg !== null) ready(w.msg);
        else if (w.key !== null) {
          w.key.windowTimerAt = 0;
          windowEnded(w.key);
        }
      }
      w = this.heap.peek();
    }
  }
}

function stale(w: Wake): boolean {
  if (w.msg !== null) {
    const s = w.msg.state;
    return !((s === 'scheduled' || s === 'retry-scheduled') && w.msg.readyAt === w.at);
  }
  return w.key === null || w.key.windowTimerAt !== w.at;
}
