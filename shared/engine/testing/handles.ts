/**
 * The id → handle index that test and preview callers keep (the engine keeps none; the server's
 * message log is its index). Commands by id, as the tests read best.
 */
import type { EngineEvent } from '../../events';
import type { FlowEngine } from '../engine';
import type { AttemptResult, MessageHandle, MessageView, PublishInput } from '../types';
import type { Millis } from '../units';

export class Handles {
  private readonly byId = new Map<string, MessageHandle>();

  constructor(readonly engine: FlowEngine) {}

  /** Publishes and remembers the handle; an id may be accepted once. */
  publish(input: PublishInput, now: Millis, data?: unknown): EngineEvent[] {
    if (this.byId.has(input.id)) throw new Error(`message ${input.id} is already accepted`);
    const accepted = this.engine.publish(input, now, data);
    this.byId.set(input.id, accepted.message);
    return accepted.events;
  }

  /** The handle of a message published through this index. */
  get(id: string): MessageHandle {
    const h = this.byId.get(id);
    if (h === undefined) throw new Error(`message ${id} was never published`);
    return h;
  }

  finish(id: string, result: AttemptResult, now: Millis): EngineEvent[] {
    return this.engine.finish(this.get(id), result, now);
  }

  /** Cancels by id; an id never published, like an ended message, emits nothing. */
  cancel(id: string, now: Millis): EngineEvent[] {
    const h = this.byId.get(id);
    return h === undefined ? this.engine.tick(now) : this.engine.cancel(h, now);
  }

  /** Where the message stands; undefined when it has ended or was never published. */
  view(id: string): MessageView | undefined {
    const h = this.byId.get(id);
    return h === undefined ? undefined : this.engine.view(h);
  }
}
