import type { EngineEvent } from '../../shared/events';
import type { FlowEngine } from '../../shared/engine/engine';
import type {
  Accepted,
  AttemptResult,
  MessageHandle,
  PinInput,
  PublishInput,
  UnpinInput,
} from '../../shared/engine/types';
import { ms, type KeyId, type Millis } from '../../shared/engine/units';
import type { Clock, Deliverer, MessagePayload, Timers } from './types';
import { systemTimers } from './types';

/** setTimeout's longest delay; a later wake-up is re-armed when this one fires. */
const MAX_TIMER_DELAY = 2_147_483_647;

export type EventListener = (events: readonly EngineEvent[]) => void;

export interface FlowControllerOptions {
  engine: FlowEngine;
  clock: Clock;
  deliverer: Deliverer;
  timers?: Timers;
  /** Forget keys idle this long, checked every `min(ttl, 1 min)`; never when null or absent. */
  keyTtlMs?: number | null;
}

/** How often idle keys are looked for, at most. */
const SWEEP_EVERY_MS = 60_000;

/**
 * Drives the pure engine: owns the clock and the wake-up timer, starts a delivery for every token
 * the engine grants, reports each attempt's end back, and fans the events out to listeners
 * (the realtime stream, logs). Every HTTP route and the benchmarks go through this one class.
 */
export class FlowController {
  readonly engine: FlowEngine;
  private readonly clock: Clock;
  private readonly deliverer: Deliverer;
  private readonly timers: Timers;
  private readonly listeners = new Set<EventListener>();
  private timer: unknown = null;
  private timerAt: number | null = null;
  private sweepTimer: unknown = null;
  private closed = false;

  constructor(options: FlowControllerOptions) {
    this.engine = options.engine;
    this.clock = options.clock;
    this.deliverer = options.deliverer;
    this.timers = options.timers ?? systemTimers;
    this.engine.onStart((message, key, attempt) => this.startDelivery(message, key, attempt));
    const ttl = options.keyTtlMs ?? null;
    if (ttl !== null) this.sweepIdleKeys(ms(ttl));
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
   * Takes a message in. Its payload rides on the engine's handle, which the caller keeps to cancel
   * it: no id → message map is kept here (see bench W1).
   */
  publish(input: PublishInput, payload: MessagePayload): Accepted {
    const accepted = this.engine.publish(input, this.clock.now(), payload);
    this.dispatch(accepted.events);
    return accepted;
  }

  pause(key: KeyId) {
    return this.dispatch(this.engine.pause(key, this.clock.now()));
  }

  resume(key: KeyId) {
    return this.dispatch(this.engine.resume(key, this.clock.now()));
  }

  pin(key: KeyId, pin: PinInput) {
    return this.dispatch(this.engine.pin(key, pin, this.clock.now()));
  }

  unpin(key: KeyId, unpin: UnpinInput) {
    return this.dispatch(this.engine.unpin(key, unpin, this.clock.now()));
  }

  resetRate(key: KeyId) {
    return this.dispatch(this.engine.resetRate(key, this.clock.now()));
  }

  cancel(message: MessageHandle) {
    return this.dispatch(this.engine.cancel(message, this.clock.now()));
  }

  setGlobalParallelism(parallelism: number | null) {
    return this.dispatch(this.engine.setGlobalParallelism(parallelism, this.clock.now()));
  }

  /** Stops the wake-up timer; in-flight deliveries still report back, but nothing new is armed. */
  close(): void {
    this.closed = true;
    if (this.sweepTimer !== null) this.timers.clear(this.sweepTimer);
    this.sweepTimer = null;
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
    this.timerAt = null;
  }

  /** Fans a command's events out to the listeners (deliveries already began, in `startDelivery`). */
  private dispatch(events: EngineEvent[]): EngineEvent[] {
    if (events.length > 0) for (const l of this.listeners) l(events);
    this.arm();
    return events;
  }

  /**
   * Called by the engine at each start, during the command: the attempt begins at once. Its end
   * arrives in a later task (a promise never settles synchronously), so the engine is never re-entered.
   */
  private startDelivery(message: MessageHandle, key: KeyId, attempt: number): void {
    // `publish` above is the only way data reaches this engine, and it always passes a payload.
    const payload = message.data as MessagePayload | undefined;
    const id = message.id;
    let attemptDone: Promise<AttemptResult>;
    if (payload === undefined) {
      // Only an engine fed around `publish` could start a message without a payload: fail the
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
    this.dispatch(this.engine.finish(message, result, this.clock.now()));
  }

  /** Forgets idle keys now and then, so a server with per-user keys does not keep them all. */
  private sweepIdleKeys(ttl: Millis): void {
    this.sweepTimer = this.timers.set(
      () => {
        this.dispatch(this.engine.forgetIdleKeys(ttl, this.clock.now()));
        if (!this.closed) this.sweepIdleKeys(ttl);
      },
      Math.min(ttl, SWEEP_EVERY_MS),
    );
  }

  /** Keeps one timer armed for the engine's next wake-up. */
  private arm(): void {
    if (this.closed) return;
    const at = this.engine.nextWakeAt();
    if (at === this.timerAt) return;
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
    this.timerAt = at;
    if (at === null) return;
    const delay = Math.min(MAX_TIMER_DELAY, Math.max(0, at - this.clock.now()));
    this.timer = this.timers.set(() => {
      this.timer = null;
      this.timerAt = null;
      this.dispatch(this.engine.tick(this.clock.now()));
    }, delay);
  }
}
