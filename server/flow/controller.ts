import type { EngineEvent } from '../../shared/events';
import type {
  AttemptResult,
  MessageHandle,
  PinInput,
  PublishInput,
  UnpinInput,
} from '../../shared/engine/types';
import { ms, type KeyId, type Millis } from '../../shared/engine/units';
import { after, type FlowStore, type MaybePromise } from '../store/flow-store';
import type { Clock, Deliverer, MessagePayload, Timers } from './types';
import { systemTimers } from './types';

/** setTimeout's longest delay; a later wake-up is re-armed when this one fires. */
const MAX_TIMER_DELAY = 2_147_483_647;

export type EventListener = (events: readonly EngineEvent[]) => void;

export interface FlowControllerOptions<S extends FlowStore = FlowStore> {
  store: S;
  /** The time of everything but flow control's decisions (logs, schedules), which is the store's. */
  clock: Clock;
  deliverer: Deliverer;
  timers?: Timers;
  /** Forget keys idle this long, checked every `min(ttl, 1 min)`; never when null or absent. */
  keyTtlMs?: number | null;
}

/**
 * What the store `S` answers to `method`: with the memory store, the value itself (so its callers
 * and the benchmarks stay synchronous); with any store, a value or a promise of one.
 */
type Answer<S extends FlowStore, M extends keyof FlowStore> = S[M] extends (
  ...args: never[]
) => infer R
  ? R
  : never;

/** How often idle keys are looked for, at most. */
const SWEEP_EVERY_MS = 60_000;

/**
 * Drives the store: owns the wake-up timer, starts a delivery for every token the store grants
 * this process, reports each attempt's end back, and fans the events out to listeners (the
 * realtime stream, logs). It is the store's only caller: every HTTP route, the realtime stream,
 * the shutdown and the benchmarks go through this one class.
 *
 * With the memory store every call answers at once (no promise is made on the hot path); with a
 * store that answers with promises the same methods return them.
 */
export class FlowController<S extends FlowStore = FlowStore> {
  private readonly store: S;
  private readonly clock: Clock;
  private readonly deliverer: Deliverer;
  private readonly timers: Timers;
  private readonly listeners = new Set<EventListener>();
  private timer: unknown = null;
  private timerAt: number | null = null;
  /** A store's answer to `nextWakeAt` is awaited; `armAgain`: events came since it was asked. */
  private asking = false;
  private armAgain = false;
  private sweepTimer: unknown = null;
  private closed = false;
  private starting = true;
  /** Whether this process runs the store's wake-ups (not while it hands its tokens back). */
  private waking = true;
  private inFlight = 0;

  constructor(options: FlowControllerOptions<S>) {
    this.store = options.store;
    this.clock = options.clock;
    this.deliverer = options.deliverer;
    this.timers = options.timers ?? systemTimers;
    this.store.onStart((message, key, attempt) => this.startDelivery(message, key, attempt));
    this.store.onEvents((events) => this.dispatch(events));
    const ttl = options.keyTtlMs ?? null;
    if (ttl !== null) this.sweepIdleKeys(ms(ttl));
  }

  /** Which store holds flow control's state. */
  get storeKind(): FlowStore['kind'] {
    return this.store.kind;
  }

  /** Deliveries this process is running now (with a shared store, not the other servers'). */
  get inFlightHere(): number {
    return this.inFlight;
  }

  /**
   * Begins no more deliveries (a stop). The memory store's keys are paused first, so it grants
   * none. A shared store is told to hand this server's tokens to the other servers (`handBack`),
   * and this server runs no more wake-ups: what they would start, the others start.
   */
  stopStarting(): void {
    this.starting = false;
    if (this.store.handBack !== undefined) {
      this.store.handBack();
      this.waking = false;
      if (this.timer !== null) this.timers.clear(this.timer);
      this.timer = null;
      this.timerAt = null;
    }
  }

  /**
   * A stop's timeout passed with deliveries still running here: a shared store gives their
   * leases back, so the other servers deliver those messages now rather than when the leases run
   * out (their answers, should they come, are not read). Answers how many.
   */
  async releaseAbandoned(): Promise<number> {
    return this.store.releaseHeld === undefined ? 0 : this.store.releaseHeld();
  }

  /** Subscribes to every event, in `seq` order; returns the unsubscribe function. */
  onEvents(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  now() {
    return this.clock.now();
  }

  /**
   * Takes a message in. Its payload rides on the store's handle, which the caller keeps to cancel
   * it: no id → message map is kept here (see bench W1).
   */
  publish(input: PublishInput, payload: MessagePayload): Answer<S, 'accept'> {
    return this.store.accept(input, payload) as Answer<S, 'accept'>;
  }

  pause(key: KeyId): Answer<S, 'pause'> {
    return this.store.pause(key) as Answer<S, 'pause'>;
  }

  resume(key: KeyId): Answer<S, 'resume'> {
    return this.store.resume(key) as Answer<S, 'resume'>;
  }

  pin(key: KeyId, pin: PinInput): Answer<S, 'pin'> {
    return this.store.pin(key, pin) as Answer<S, 'pin'>;
  }

  unpin(key: KeyId, unpin: UnpinInput): Answer<S, 'unpin'> {
    return this.store.unpin(key, unpin) as Answer<S, 'unpin'>;
  }

  resetRate(key: KeyId): Answer<S, 'resetRate'> {
    return this.store.resetRate(key) as Answer<S, 'resetRate'>;
  }

  cancel(message: MessageHandle): Answer<S, 'cancel'> {
    return this.store.cancel(message) as Answer<S, 'cancel'>;
  }

  setGlobalParallelism(parallelism: number | null): Answer<S, 'setGlobalParallelism'> {
    return this.store.setGlobalParallelism(parallelism) as Answer<S, 'setGlobalParallelism'>;
  }

  // ── reads ───────────────────────────────────────────────────────────────────────────────────

  /** One key, its waitlist listed up to `waitlistLimit` (0: counts only). */
  key(key: KeyId, waitlistLimit = 0): Answer<S, 'key'> {
    return this.store.key(key, waitlistLimit) as Answer<S, 'key'>;
  }

  /** Every key, counts only. */
  keys(): Answer<S, 'keys'> {
    return this.store.keys() as Answer<S, 'keys'>;
  }

  /** What a dashboard starts from, and the `seq` of the last event it covers. */
  snapshot(waitlistLimit?: number): Answer<S, 'snapshot'> {
    return this.store.snapshot(waitlistLimit) as Answer<S, 'snapshot'>;
  }

  message(message: MessageHandle): Answer<S, 'message'> {
    return this.store.message(message) as Answer<S, 'message'>;
  }

  /** Global parallelism and the deliveries in flight under it. */
  global(): Answer<S, 'global'> {
    return this.store.global() as Answer<S, 'global'>;
  }

  /** Stops the wake-up timer; in-flight deliveries still report back, but nothing new is armed. */
  close(): MaybePromise<void> {
    this.closed = true;
    if (this.sweepTimer !== null) this.timers.clear(this.sweepTimer);
    this.sweepTimer = null;
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
    this.timerAt = null;
    return this.store.close();
  }

  /** Fans the store's events out to the listeners (deliveries already began, in `startDelivery`). */
  private dispatch(events: readonly EngineEvent[]): void {
    for (const l of this.listeners) l(events);
    this.arm();
  }

  /**
   * Called by the store at each start it grants this process, during the command: the attempt
   * begins at once. Its end arrives in a later task (a promise never settles synchronously), so
   * the store is never re-entered.
   */
  private startDelivery(message: MessageHandle, key: KeyId, attempt: number): void {
    if (!this.starting) return;
    this.inFlight++;
    // `publish` above is the only way data reaches the store, and it always passes a payload.
    const payload = message.data as MessagePayload | undefined;
    const id = message.id;
    let attemptDone: Promise<AttemptResult>;
    if (payload === undefined) {
      // Only a store fed around `publish` could start a message without a payload: fail the
      // attempt rather than leak the token.
      attemptDone = Promise.resolve({ ok: false, error: 'payload missing', nonRetryable: true });
    } else {
      try {
        attemptDone = this.deliverer.deliver({ id, key, attempt, payload });
      } catch (err) {
        attemptDone = Promise.resolve({ ok: false, error: String(err) });
      }
    }
    attemptDone.then(
      (result) => this.finish(message, result),
      (err: unknown) => this.finish(message, { ok: false, error: String(err) }),
    );
  }

  private finish(message: MessageHandle, result: AttemptResult): void {
    this.inFlight--;
    settle(this.store.finish(message, result));
  }

  /** Forgets idle keys now and then, so a server with per-user keys does not keep them all. */
  private sweepIdleKeys(ttl: Millis): void {
    this.sweepTimer = this.timers.set(
      () => {
        settle(this.store.forgetIdleKeys(ttl));
        if (!this.closed) this.sweepIdleKeys(ttl);
      },
      Math.min(ttl, SWEEP_EVERY_MS),
    );
  }

  /**
   * Keeps one timer armed for the store's next wake-up. A store that answers with promises is
   * asked once at a time: batches of events arriving meanwhile are covered by one more question,
   * asked when the answer comes. The answer in between is used all the same: a wake-up it names
   * that is no longer due wakes the store for nothing, and the next answer corrects a later one
   * (so under a steady stream of events the timer still follows the store).
   */
  private arm(): void {
    if (this.closed || !this.waking) return;
    if (this.asking) {
      this.armAgain = true;
      return;
    }
    // No closure on the memory store's path: this runs after every batch of events.
    const at = this.store.nextWakeAt();
    if (at instanceof Promise) {
      this.asking = true;
      at.then(
        (t) => this.answered(t),
        () => this.answered(undefined),
      );
    } else this.armAt(at);
  }

  private answered(at: Millis | null | undefined): void {
    this.asking = false;
    if (at !== undefined) this.armAt(at);
    if (this.armAgain) {
      this.armAgain = false;
      this.arm();
    }
  }

  private armAt(at: Millis | null): void {
    if (this.closed || !this.waking || at === this.timerAt) return;
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
    this.timerAt = at;
    if (at === null) return;
    const delay = Math.min(MAX_TIMER_DELAY, Math.max(0, at - this.store.now()));
    this.timer = this.timers.set(() => {
      this.timer = null;
      this.timerAt = null;
      // Armed again whatever the wake did: one that made no event (a rate window ending while
      // its key is still blocked) dispatches nothing, and would leave no timer for what is next.
      settle(after(this.store.wake(), () => this.arm()));
    }, delay);
  }
}

/**
 * Work begun from a timer or a delivery's end has no caller to report to: a store that answers
 * with a promise and fails (Redis unreachable) is logged by the store itself; the rejection must
 * not crash the process.
 */
function settle(value: MaybePromise<unknown>): void {
  if (value instanceof Promise) value.catch(() => {});
}
