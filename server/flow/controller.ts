import type { EngineEvent } from '../../shared/events';
import type { FlowEngine } from '../../shared/engine/engine';
import type { AttemptResult, PinInput, PublishInput, UnpinInput } from '../../shared/engine/types';
import type { KeyId, MessageId } from '../../shared/engine/units';
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
}

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
  private readonly payloads = new Map<MessageId, MessagePayload>();
  private timer: unknown = null;
  private timerAt: number | null = null;
  private closed = false;

  constructor(options: FlowControllerOptions) {
    this.engine = options.engine;
    this.clock = options.clock;
    this.deliverer = options.deliverer;
    this.timers = options.timers ?? systemTimers;
  }

  /** Subscribes to every event, in `seq` order; returns the unsubscribe function. */
  onEvents(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  now() {
    return this.clock.now();
  }

  publish(input: PublishInput, payload: MessagePayload): readonly EngineEvent[] {
    this.payloads.set(input.id, payload);
    try {
      return this.dispatch(this.engine.publish(input, this.clock.now()));
    } catch (err) {
      this.payloads.delete(input.id);
      throw err;
    }
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

  cancel(id: MessageId) {
    return this.dispatch(this.engine.cancel(id, this.clock.now()));
  }

  setGlobalParallelism(parallelism: number | null) {
    return this.dispatch(this.engine.setGlobalParallelism(parallelism, this.clock.now()));
  }

  payload(id: MessageId): MessagePayload | undefined {
    return this.payloads.get(id);
  }

  /** Stops the wake-up timer; in-flight deliveries still report back, but nothing new is armed. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
    this.timerAt = null;
  }

  private dispatch(events: EngineEvent[]): EngineEvent[] {
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as EngineEvent;
      switch (e.type) {
        case 'token:acquired':
          this.startDelivery(e.messageId, e.key, e.attempt);
          break;
        case 'token:handed-off':
          this.startDelivery(e.to, e.key, e.attempt);
          break;
        case 'message:delivered':
        case 'message:dead-lettered':
        case 'message:cancelled':
          this.payloads.delete(e.messageId);
          break;
        default:
          break;
      }
    }
    if (events.length > 0) for (const l of this.listeners) l(events);
    this.arm();
    return events;
  }

  private startDelivery(id: MessageId, key: KeyId, attempt: number): void {
    const payload = this.payloads.get(id);
    if (payload === undefined) {
      // Unreachable while payloads and the engine agree; fail the attempt rather than leak the token.
      queueMicrotask(() =>
        this.finish(id, { ok: false, error: 'payload missing', nonRetryable: true }),
      );
      return;
    }
    this.deliverer.deliver({ id, key, attempt, payload }).then(
      (result) => this.finish(id, result),
      (err: unknown) => this.finish(id, { ok: false, error: String(err) }),
    );
  }

  private finish(id: MessageId, result: AttemptResult): void {
    this.dispatch(this.engine.finish(id, result, this.clock.now()));
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
