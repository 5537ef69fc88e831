import Denque from 'denque';
import type { RandomSource } from './random';
import type { MessageRecord } from './state';

/**
 * A key's ordered waitlist. Cancelled messages are marked and skipped when reached (as QStash does),
 * so cancelling is O(1) and nobody waits behind a cancelled slot.
 */
export class Waitlist {
  private readonly q = new Denque<MessageRecord>();
  /** Live (not cancelled) waiters. */
  size = 0;

  push(m: MessageRecord): void {
    m.passes = 0;
    this.q.push(m);
    this.size++;
  }

  /** Marks a waiter gone; it is dropped when the queue reaches it. */
  forget(): void {
    this.size--;
  }

  /** The oldest live waiter, dropping cancelled ones on the way. */
  peek(): MessageRecord | undefined {
    let m = this.q.peekFront();
    while (m !== undefined && m.state !== 'waiting') {
      this.q.shift();
      m = this.q.peekFront();
    }
    return m;
  }

  /** Removes and returns the oldest live waiter. */
  shift(): MessageRecord | undefined {
    const m = this.peek();
    if (m === undefined) return undefined;
    this.q.shift();
    this.size--;
    return m;
  }

  /**
   * Removes and returns a waiter chosen at random among the `window` oldest live ones; the waiters
   * older than the one chosen are passed over. The head is taken once it has been passed over
   * `window` times. The head is the oldest waiter, so it has been passed over at least as often as
   * any other: no waiter is ever passed over more than `window` times, and one that joined at
   * position p starts within p + window takes.
   */
  takeRandom(rng: RandomSource, window: number): MessageRecord | undefined {
    const head = this.peek();
    if (head === undefined) return undefined;
    if (head.passes >= window) return this.shift();
    const live: number[] = [];
    for (let i = 0; i < this.q.length && live.length < window; i++) {
      if (this.q.peekAt(i)?.state === 'waiting') live.push(i);
    }
    const index = live[Math.floor(rng.next() * live.length)] ?? 0;
    if (index === 0) return this.shift();
    for (const i of live) {
      if (i >= index) break;
      const passed = this.q.peekAt(i);
      if (passed !== undefined) passed.passes++;
    }
    const m = this.q.removeOne(index);
    this.size--;
    return m;
  }

  /** Live waiters in order, at most `limit`. */
  list(limit: number): MessageRecord[] {
    const out: MessageRecord[] = [];
    for (let i = 0; i < this.q.length && out.length < limit; i++) {
      const m = this.q.peekAt(i);
      if (m !== undefined && m.state === 'waiting') out.push(m);
    }
    return out;
  }
}
