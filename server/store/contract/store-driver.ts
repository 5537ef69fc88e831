/**
 * The contract suite's driver: a store driven through the `FlowStore` interface only. Time is an injected clock moved by hand; every command is
 * awaited; starts are observed through `onStart`, and every command's events are checked against
 * what the `onEvents` handler received, in `seq` order.
 */
import { expect } from 'vitest';
import type { EngineEvent, WorkflowTag } from '../../../shared/events';
import { cfg, only, started, OK } from '../../../shared/engine/testing/driver';
import type {
  AttemptResult,
  FlowConfig,
  KeySnapshot,
  MessageHandle,
  MessageView,
} from '../../../shared/engine/types';
import { keyId, messageId, ms, type KeyId, type Millis } from '../../../shared/engine/units';
import type { MessagePayload } from '../../flow/types';
import type { FlowStore, GlobalUse, StoreSnapshot } from '../flow-store';
import type { ManualClock } from './contract-context';

export { cfg, only, started, OK };
export { FAIL } from '../../../shared/engine/testing/driver';

export interface PublishOptions {
  key?: string;
  config?: FlowConfig;
  retries?: number;
  notBefore?: number;
  workflow?: WorkflowTag;
}

/** The payload the driver accepts every message with: its body names the message. */
export function payloadOf(id: string): MessagePayload {
  return {
    destination: `https://example.test/${id}`,
    method: 'POST',
    headers: { 'content-type': 'text/plain', 'x-message': id },
    body: new TextEncoder().encode(`body of ${id}`),
  };
}

export interface Start {
  handle: MessageHandle;
  key: KeyId;
  attempt: number;
}

/** How long the events handler may take to hear an event a command already returned. */
const EVENTS_TIMEOUT_MS = 5_000;

/**
 * Drives one store: `at(t)` moves the clock, every command runs at the clock's time and its events
 * are returned and appended to `log`. After each command the driver checks that `onStart` was
 * called for exactly the starts the events name, and waits until the `onEvents` handler has heard
 * the same events in the same order (it may hear them later than the command answers).
 */
export class StoreDriver {
  readonly log: EngineEvent[] = [];
  /** Every batch the events handler received, flattened. */
  readonly heard: EngineEvent[] = [];
  /** Every start the start handler was told of, in order. */
  readonly starts: Start[] = [];
  /** Handles by id: the one `accept` gave, and the one of the latest start. */
  private readonly accepted = new Map<string, MessageHandle>();
  private readonly running = new Map<string, MessageHandle>();
  private waiters: Array<{ seq: number; done: () => void }> = [];

  constructor(
    readonly store: FlowStore,
    readonly clock: ManualClock,
  ) {
    store.onStart((handle, key, attempt) => {
      this.starts.push({ handle, key, attempt });
      this.running.set(handle.id, handle);
    });
    store.onEvents((events) => {
      this.heard.push(...events);
      const last = this.heard.at(-1)?.seq ?? 0;
      this.waiters = this.waiters.filter((w) => (w.seq <= last ? (w.done(), false) : true));
    });
  }

  get now(): Millis {
    return this.clock.now();
  }

  at(t: number): this {
    this.clock.set(t);
    return this;
  }

  /** Resolves once the events handler has heard the event numbered `seq` (or any later one). */
  eventsSettled(seq = this.log.at(-1)?.seq ?? 0): Promise<void> {
    if ((this.heard.at(-1)?.seq ?? 0) >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.done !== done);
        reject(
          new Error(
            `the events handler heard up to seq ${this.heard.at(-1)?.seq ?? 0}, ` +
              `not ${seq}, within ${EVENTS_TIMEOUT_MS} ms`,
          ),
        );
      }, EVENTS_TIMEOUT_MS);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ seq, done });
    });
  }

  /** Runs a command, then checks its starts and its events against the handlers'. */
  private async command(run: () => unknown): Promise<EngineEvent[]> {
    const startsBefore = this.starts.length;
    const result = (await run()) as EngineEvent[] | { events: EngineEvent[] };
    const events = Array.isArray(result) ? result : result.events;
    const told = this.starts.slice(startsBefore);
    const expected = events.flatMap((e) =>
      e.type === 'token:acquired'
        ? [{ id: e.messageId, key: e.key, attempt: e.attempt }]
        : e.type === 'token:handed-off'
          ? [{ id: e.to, key: e.key, attempt: e.attempt }]
          : [],
    );
    expect(
      told.map((s) => ({ id: s.handle.id, key: s.key, attempt: s.attempt })),
      'the start handler is told of every start the events name, in order',
    ).toEqual(expected);
    const from = this.log.length;
    this.log.push(...events);
    await this.eventsSettled();
    expect(
      this.heard.slice(from, this.log.length),
      'the events handler hears the events the command returned',
    ).toEqual(events);
    return events;
  }

  publish(id: string, o: PublishOptions = {}): Promise<EngineEvent[]> {
    return this.command(async () => {
      if (this.accepted.has(id)) throw new Error(`message ${id} is already accepted`);
      const accepted = await this.store.accept(
        {
          id: messageId(id),
          ...(o.key !== undefined ? { key: keyId(o.key) } : {}),
          ...(o.config !== undefined ? { config: o.config } : {}),
          ...(o.retries !== undefined ? { retries: o.retries } : {}),
          ...(o.notBefore !== undefined ? { notBefore: ms(o.notBefore) } : {}),
          ...(o.workflow !== undefined ? { workflow: o.workflow } : {}),
        },
        payloadOf(id),
      );
      expect(accepted.message.id).toBe(id);
      this.accepted.set(id, accepted.message);
      return accepted;
    });
  }

  /** Publishes `${prefix}1…${prefix}n` with the same options; returns all their events. */
  async publishMany(prefix: string, n: number, o: PublishOptions = {}): Promise<EngineEvent[]> {
    const out: EngineEvent[] = [];
    for (let i = 1; i <= n; i++) out.push(...(await this.publish(`${prefix}${i}`, o)));
    return out;
  }

  /** The handle a message was accepted with. */
  handle(id: string): MessageHandle {
    const h = this.accepted.get(id);
    if (h === undefined) throw new Error(`message ${id} was never published`);
    return h;
  }

  /** Reports an attempt's end with the handle its start was given, as the controller does. */
  finish(id: string, result: AttemptResult = OK): Promise<EngineEvent[]> {
    const h = this.running.get(id) ?? this.handle(id);
    return this.command(() => this.store.finish(h, result));
  }

  /** Moves the clock to `t` (when given), then wakes the store. */
  tick(t?: number): Promise<EngineEvent[]> {
    if (t !== undefined) this.at(t);
    return this.command(() => this.store.wake());
  }

  pause(key: string): Promise<EngineEvent[]> {
    return this.command(() => this.store.pause(keyId(key)));
  }

  resume(key: string): Promise<EngineEvent[]> {
    return this.command(() => this.store.resume(keyId(key)));
  }

  pin(
    key: string,
    c: { parallelism?: number; rate?: number; period?: number },
  ): Promise<EngineEvent[]> {
    return this.command(() => this.store.pin(keyId(key), cfg(c)));
  }

  unpin(key: string, u: { parallelism?: boolean; rate?: boolean }): Promise<EngineEvent[]> {
    return this.command(() => this.store.unpin(keyId(key), u));
  }

  resetRate(key: string): Promise<EngineEvent[]> {
    return this.command(() => this.store.resetRate(keyId(key)));
  }

  cancel(id: string): Promise<EngineEvent[]> {
    return this.command(() => this.store.cancel(this.handle(id)));
  }

  forgetIdle(idleMs: number): Promise<EngineEvent[]> {
    return this.command(() => this.store.forgetIdleKeys(ms(idleMs)));
  }

  setGlobal(parallelism: number | null): Promise<EngineEvent[]> {
    return this.command(() => this.store.setGlobalParallelism(parallelism));
  }

  // ── reads ───────────────────────────────────────────────────────────────────────────────────

  async key(key: string, waitlistLimit?: number): Promise<KeySnapshot> {
    const k = await this.store.key(keyId(key), waitlistLimit);
    if (k === undefined) throw new Error(`no key ${key}`);
    return k;
  }

  async hasKey(key: string): Promise<boolean> {
    return (await this.store.key(keyId(key))) !== undefined;
  }

  /** Where the message stands; undefined once it has ended (or when it was never published). */
  async message(id: string): Promise<MessageView | undefined> {
    const h = this.accepted.get(id);
    return h === undefined ? undefined : await this.store.message(h);
  }

  async state(id: string): Promise<string> {
    return (await this.message(id))?.state ?? 'ended';
  }

  /** Ids of the key's waiters, in order. */
  async waiting(key: string): Promise<string[]> {
    return (await this.key(key)).waiting.map((w) => w.messageId);
  }

  /** Ids of the key's in-flight messages, sorted. */
  async active(key: string): Promise<string[]> {
    return (await this.key(key)).active.map((a) => a.messageId).sort();
  }

  async snapshot(waitlistLimit?: number): Promise<StoreSnapshot> {
    return await this.store.snapshot(waitlistLimit);
  }

  async stats() {
    return (await this.store.snapshot(0)).engine.stats;
  }

  async lastSeq(): Promise<number> {
    return (await this.store.snapshot(0)).seq;
  }

  async nextWakeAt(): Promise<Millis | null> {
    return await this.store.nextWakeAt();
  }

  async global(): Promise<GlobalUse> {
    return await this.store.global();
  }
}
