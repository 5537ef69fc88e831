import Denque from 'denque';
import type { EngineEvent, WaitReason } from '../events';
import { configureFromMessage, roll } from './key-rules';
import { seededRandom, type RandomSource } from './random';
import { windowAt } from './rate-window';
import { KeyState, type MessageRecord } from './state';
import type {
  EngineOptions,
  EngineStats,
  FlowConfig,
  HandoffPolicy,
  KeySnapshot,
  MessageHandle,
} from './types';
import { validateLimit } from './validate';
import { viewKey } from './views';
import { WakeQueue } from './wake-queue';
import { ms, type KeyId, type Millis } from './units';

/** Told of each start as it happens: the message, its key, its attempt (retries so far). */
export type StartHandler = (message: MessageHandle, key: KeyId, attempt: number) => void;

/**
 * The engine's state and the rules that move messages between places (start, wait, hand off,
 * settle), shared by every command. `FlowEngine` (engine.ts) adds the public commands and queries.
 */
export class EngineCore {
  readonly policy: HandoffPolicy;
  readonly stats: EngineStats = { accepted: 0, delivered: 0, dead: 0, cancelled: 0 };
  protected readonly keyStates = new Map<KeyId, KeyState>();
  protected readonly wakes = new WakeQueue();
  /** Keys whose head waits only for a global slot, in the order they began to wait. */
  protected readonly globalQueue = new Denque<KeyState>();
  protected globalMax: number | null;
  protected globalInFlight = 0;
  protected readonly rng: RandomSource;
  protected readonly randomWindow: number;
  protected seq = 0;
  protected out: EngineEvent[] = [];
  protected startHandler: StartHandler | null = null;

  constructor(options: EngineOptions = {}) {
    this.policy = options.policy ?? 'fifo';
    this.globalMax = options.globalParallelism ?? null;
    if (this.globalMax !== null) validateLimit('global parallelism', this.globalMax);
    this.rng = seededRandom(options.seed ?? 1);
    this.randomWindow = options.randomWindow ?? 8;
  }

  // ── rules ───────────────────────────────────────────────────────────────────────────────────

  protected keyFor(id: KeyId, now: Millis): KeyState {
    let k = this.keyStates.get(id);
    if (k === undefined) {
      k = new KeyState(id, this, now);
      this.keyStates.set(id, k);
    }
    return k;
  }

  /**
   * The key a management command (pause, pin…) names, marked active now. A publish needs no mark:
   * its message keeps the key from being idle until it ends, and `settle` marks that.
   */
  protected commandedKey(id: KeyId, now: Millis): KeyState {
    const k = this.keyFor(id, now);
    k.lastActivityAt = now;
    return k;
  }

  protected configureFromMessage(k: KeyState, cfg: FlowConfig, now: Millis): void {
    if (configureFromMessage(k, cfg, now)) {
      this.configured(k, 'message', now);
      this.pump(k, now);
    }
  }

  protected configured(k: KeyState, source: 'message' | 'pin' | 'unpin', now: Millis): void {
    roll(k, now);
    this.out.push({
      type: 'key:configured',
      seq: ++this.seq,
      at: now,
      key: k.id,
      source,
      parallelism: k.parallelism,
      rate: k.rate,
      periodMs: k.periodMs,
      pinnedParallelism: k.pinnedParallelism,
      pinnedRate: k.pinnedRate,
      ratePeriodStart: k.windowStart,
      rateCount: k.rateCount,
    });
  }

  /** Why `k`'s head cannot start at `now` (null: it can). Rolls the window; changes nothing else. */
  protected blocked(k: KeyState, now: Millis): WaitReason | null {
    roll(k, now);
    return this.reasonAt(k, now);
  }

  protected reasonAt(k: KeyState, now: Millis): WaitReason | null {
    if (k.paused) return 'paused';
    if (k.parallelism !== null && k.inFlight >= k.parallelism) return 'parallelism';
    if (k.rate !== null && windowAt(k.windowStart, k.periodMs, k.rateCount, now).count >= k.rate) {
      return 'rate';
    }
    if (this.globalMax !== null && this.globalInFlight >= this.globalMax) return 'global';
    return null;
  }

  /** A ready message (new, due after a delay, or retrying) starts now or joins the back of the waitlist. */
  protected enterFlow(m: MessageRecord, now: Millis): void {
    const k = m.key;
    m.state = 'waiting';
    m.readyAt = now;
    let reason = this.blocked(k, now);
    if (reason === null && k.waitlist.size > 0) {
      this.pump(k, now);
      reason = this.blocked(k, now);
    }
    if (reason === null) {
      this.start(m, now, null);
      return;
    }
    m.reason = reason;
    k.waitlist.push(m);
    this.out.push({
      type: 'message:waitlisted',
      seq: ++this.seq,
      at: now,
      key: k.id,
      messageId: m.id,
      reason,
      position: k.waitlist.size,
    });
    this.onBlocked(k, reason);
  }

  protected start(m: MessageRecord, now: Millis, from: MessageRecord | null): void {
    const k = m.key;
    m.state = 'in-flight';
    m.startedAt = now;
    k.inFlight++;
    this.globalInFlight++;
    k.active.add(m);
    roll(k, now);
    k.rateCount++;
    // The delivery begins before the event is built: nothing stands between a release and the next start.
    if (this.startHandler !== null) this.startHandler(m, k.id, m.attempt);
    const waitedMs = ms(now - m.readyAt);
    const rated = k.rate !== null;
    if (from === null) {
      this.out.push({
        type: 'token:acquired',
        seq: ++this.seq,
        at: now,
        key: k.id,
        messageId: m.id,
        attempt: m.attempt,
        inFlight: k.inFlight,
        rateCount: rated ? k.rateCount : undefined,
        ratePeriodStart: rated ? k.windowStart : undefined,
        waitedMs,
      });
    } else {
      this.out.push({
        type: 'token:handed-off',
        seq: ++this.seq,
        at: now,
        key: k.id,
        from: from.id,
        to: m.id,
        attempt: m.attempt,
        waitedMs,
        rateCount: rated ? k.rateCount : undefined,
        ratePeriodStart: rated ? k.windowStart : undefined,
      });
    }
  }

  protected takeWaiter(k: KeyState): MessageRecord | undefined {
    return this.policy === 'random'
      ? k.waitlist.takeRandom(this.rng, this.randomWindow)
      : k.waitlist.shift();
  }

  /** Starts waiters of `k` while every limit allows; notes what blocks the rest. */
  protected pump(k: KeyState, now: Millis): void {
    while (k.waitlist.size > 0) {
      const reason = this.blocked(k, now);
      if (reason !== null) {
        this.onBlocked(k, reason);
        return;
      }
      const m = this.takeWaiter(k);
      if (m === undefined) return;
      this.start(m, now, null);
    }
  }

  /**
   * The token of a delivery that just ended: handed straight to a waiter of its key that may start
   * now, or back to the pool. When other keys wait for a global slot, the key takes its turn behind them.
   */
  protected passToken(from: MessageRecord, now: Millis): void {
    const k = from.key;
    if (k.waitlist.size > 0) {
      const reason = this.blocked(k, now);
      if (reason === null && !this.otherKeyFirstForGlobal(k, now)) {
        const next = this.takeWaiter(k);
        if (next !== undefined) {
          this.start(next, now, from);
          this.pump(k, now);
          return;
        }
      }
      if (reason === null) this.queueForGlobal(k);
      else this.onBlocked(k, reason);
    }
    this.out.push({
      type: 'token:released',
      seq: ++this.seq,
      at: now,
      key: k.id,
      messageId: from.id,
      inFlight: k.inFlight,
    });
    this.drainGlobal(now);
  }

  /**
   * Whether another key is first in line for a global slot, so `k` must not hand its token to its own
   * waiter. Entries at the front that no longer wait for a slot (nothing waiting, or blocked by
   * something else) are dropped on the way, as `drainGlobal` would. When `k` itself is first in line,
   * the handoff is its turn: it leaves the queue (and rejoins at the back if it is still blocked).
   */
  protected otherKeyFirstForGlobal(k: KeyState, now: Millis): boolean {
    if (this.globalMax === null) return false;
    for (
      let head = this.globalQueue.peekFront();
      head !== undefined;
      head = this.globalQueue.peekFront()
    ) {
      this.globalQueue.shift();
      head.inGlobalQueue = false;
      if (head === k) return false;
      if (head.waitlist.size === 0) continue;
      const reason = this.blocked(head, now);
      if (reason === null || reason === 'global') {
        this.globalQueue.unshift(head);
        head.inGlobalQueue = true;
        return true;
      }
      this.onBlocked(head, reason);
    }
    return false;
  }

  protected onBlocked(k: KeyState, reason: WaitReason): void {
    if (reason === 'rate') {
      const end = k.windowStart + k.periodMs;
      if (k.windowTimerAt !== end) this.wakes.window(k, end);
    } else if (reason === 'global') {
      this.queueForGlobal(k);
    }
  }

  protected queueForGlobal(k: KeyState): void {
    if (!k.inGlobalQueue) {
      k.inGlobalQueue = true;
      this.globalQueue.push(k);
    }
  }

  /** Gives free global slots to the keys waiting for one, one start per key per turn. */
  protected drainGlobal(now: Millis): void {
    while (
      this.globalQueue.length > 0 &&
      (this.globalMax === null || this.globalInFlight < this.globalMax)
    ) {
      const k = this.globalQueue.shift() as KeyState;
      k.inGlobalQueue = false;
      if (k.waitlist.size === 0) continue;
      const reason = this.blocked(k, now);
      if (reason !== null) {
        this.onBlocked(k, reason);
        continue;
      }
      const m = this.takeWaiter(k);
      if (m !== undefined) this.start(m, now, null);
      if (k.waitlist.size > 0) {
        const next = this.blocked(k, now);
        if (next === null) this.queueForGlobal(k);
        else this.onBlocked(k, next);
      }
    }
  }

  protected schedule(m: MessageRecord, at: Millis): void {
    m.key.scheduled++;
    this.wakes.message(m, at);
  }

  protected readonly becameReady = (m: MessageRecord): void => {
    m.key.scheduled--;
    this.enterFlow(m, this.dueNow);
  };

  protected readonly windowEnded = (k: KeyState): void => this.pump(k, this.dueNow);

  /** The instant `runDue` is running for (its callbacks are made once, not per call). */
  protected dueNow = 0 as Millis;

  /** Ends a message for good. */
  protected settle(
    m: MessageRecord,
    state: 'delivered' | 'dead' | 'cancelled',
    now: Millis,
    reason = '',
  ): void {
    m.state = state;
    m.key.lastActivityAt = now;
    const seq = ++this.seq;
    const key = m.key.id;
    if (state === 'delivered') {
      this.stats.delivered++;
      this.out.push({ type: 'message:delivered', seq, at: now, key, messageId: m.id });
    } else if (state === 'dead') {
      this.stats.dead++;
      this.out.push({ type: 'message:dead-lettered', seq, at: now, key, messageId: m.id, reason });
    } else {
      this.stats.cancelled++;
      this.out.push({ type: 'message:cancelled', seq, at: now, key, messageId: m.id });
    }
  }

  /** Every command ends here: what became due runs, and the command's events are handed back. */
  protected flush(now: Millis): EngineEvent[] {
    this.dueNow = now;
    this.wakes.runDue(now, this.becameReady, this.windowEnded);
    const out = this.out;
    this.out = [];
    return out;
  }

  protected describe(k: KeyState, now: Millis, waitlistLimit: number): KeySnapshot {
    return viewKey(k, now, waitlistLimit, k.waitlist.size === 0 ? null : this.reasonAt(k, now));
  }
}
