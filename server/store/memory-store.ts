import type { EngineEvent } from '../../shared/events';
import { FlowEngine } from '../../shared/engine/engine';
import type {
  Accepted,
  AttemptResult,
  EngineOptions,
  KeySnapshot,
  MessageHandle,
  MessageView,
  PinInput,
  PublishInput,
  UnpinInput,
} from '../../shared/engine/types';
import type { KeyId, Millis } from '../../shared/engine/units';
import { systemClock, type Clock, type MessagePayload } from '../flow/types';
import type {
  EventsHandler,
  FlowStore,
  GlobalUse,
  StartHandler,
  StoreSnapshot,
} from './flow-store';

export interface MemoryStoreOptions extends EngineOptions {
  clock?: Clock;
}

/**
 * The default store: the pure engine in this process, answering every call at once. Nothing
 * survives a restart (like QStash's own development server); one process enforces the limits.
 */
export class MemoryStore implements FlowStore {
  readonly kind = 'memory';
  private readonly engine: FlowEngine;
  private readonly clock: Clock;
  private events: EventsHandler = () => {};

  constructor(options: MemoryStoreOptions = {}) {
    const { clock, ...engineOptions } = options;
    this.engine = new FlowEngine(engineOptions);
    this.clock = clock ?? systemClock;
  }

  onStart(handler: StartHandler): void {
    this.engine.onStart(handler);
  }

  onEvents(handler: EventsHandler): void {
    this.events = handler;
  }

  /** Announces a command's events, then hands them back. */
  private announce(events: EngineEvent[]): EngineEvent[] {
    if (events.length > 0) this.events(events);
    return events;
  }

  accept(input: PublishInput, payload: MessagePayload): Accepted {
    const accepted = this.engine.publish(input, this.clock.now(), payload);
    this.announce(accepted.events);
    return accepted;
  }

  finish(message: MessageHandle, result: AttemptResult): EngineEvent[] {
    return this.announce(this.engine.finish(message, result, this.clock.now()));
  }

  cancel(message: MessageHandle): EngineEvent[] {
    return this.announce(this.engine.cancel(message, this.clock.now()));
  }

  pause(key: KeyId): EngineEvent[] {
    return this.announce(this.engine.pause(key, this.clock.now()));
  }

  resume(key: KeyId): EngineEvent[] {
    return this.announce(this.engine.resume(key, this.clock.now()));
  }

  pin(key: KeyId, pin: PinInput): EngineEvent[] {
    return this.announce(this.engine.pin(key, pin, this.clock.now()));
  }

  unpin(key: KeyId, unpin: UnpinInput): EngineEvent[] {
    return this.announce(this.engine.unpin(key, unpin, this.clock.now()));
  }

  resetRate(key: KeyId): EngineEvent[] {
    return this.announce(this.engine.resetRate(key, this.clock.now()));
  }

  setGlobalParallelism(parallelism: number | null): EngineEvent[] {
    return this.announce(this.engine.setGlobalParallelism(parallelism, this.clock.now()));
  }

  wake(): EngineEvent[] {
    return this.announce(this.engine.tick(this.clock.now()));
  }

  nextWakeAt(): Millis | null {
    return this.engine.nextWakeAt();
  }

  forgetIdleKeys(idleMs: Millis): EngineEvent[] {
    return this.announce(this.engine.forgetIdleKeys(idleMs, this.clock.now()));
  }

  now(): Millis {
    return this.clock.now();
  }

  key(key: KeyId, waitlistLimit = 100): KeySnapshot | undefined {
    return this.engine.getKey(key, this.clock.now(), waitlistLimit);
  }

  keys(): KeySnapshot[] {
    const now = this.clock.now();
    const out: KeySnapshot[] = [];
    for (const id of this.engine.keyIds()) {
      const k = this.engine.getKey(id, now, 0);
      if (k !== undefined) out.push(k);
    }
    return out;
  }

  snapshot(waitlistLimit = 100): StoreSnapshot {
    const at = this.clock.now();
    return {
      seq: this.engine.lastSeq,
      at,
      policy: this.engine.policy,
      engine: this.engine.snapshot(at, waitlistLimit),
    };
  }

  message(message: MessageHandle): MessageView | undefined {
    return this.engine.view(message);
  }

  global(): GlobalUse {
    return {
      parallelism: this.engine.globalParallelism,
      inFlight: this.engine.globalInFlightCount,
    };
  }

  close(): void {}
}
