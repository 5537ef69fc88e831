/**
 * Test helpers for the engine's unit tests: a driver that owns the (fake) clock and the event log,
 * and typed event filters. Not exported from the engine's index; only `*.test.ts` files import it.
 */
import type { EngineEvent, EngineEventType } from '../../events';
import { FlowEngine } from '../engine';
import { Handles } from './handles';
import type { AttemptResult, EngineOptions, FlowConfig, KeySnapshot, MessageView } from '../types';
import { keyId, messageId, ms, type KeyId, type MessageId, type Millis } from '../units';

export type EventOf<T extends EngineEventType> = Extract<EngineEvent, { type: T }>;

/** The events of one type, typed. */
export function only<T extends EngineEventType>(events: EngineEvent[], type: T): EventOf<T>[] {
  return events.filter((e): e is EventOf<T> => e.type === type);
}

/** Ids of the messages that started (acquired a token or received one), in order. */
export function started(events: EngineEvent[]): string[] {
  const ids: string[] = [];
  for (const e of events) {
    if (e.type === 'token:acquired') ids.push(e.messageId);
    else if (e.type === 'token:handed-off') ids.push(e.to);
  }
  return ids;
}

export interface PublishOptions {
  key?: string;
  config?: FlowConfig;
  retries?: number;
  notBefore?: number;
}

/** A config literal in plain numbers (`period` in ms). */
export function cfg(c: { parallelism?: number; rate?: number; period?: number }): FlowConfig {
  return {
    ...(c.parallelism !== undefined ? { parallelism: c.parallelism } : {}),
    ...(c.rate !== undefined ? { rate: c.rate } : {}),
    ...(c.period !== undefined ? { periodMs: ms(c.period) } : {}),
  };
}

export const OK: AttemptResult = { ok: true, status: 200 };
export const FAIL: AttemptResult = { ok: false, status: 500 };

/**
 * Drives a `FlowEngine` with an injected clock: `at(t)` moves time (never backwards), every command
 * runs at the current time and its events are both returned and appended to `log`.
 */
export class Driver {
  readonly engine: FlowEngine;
  readonly handles: Handles;
  now: Millis = ms(0);
  readonly log: EngineEvent[] = [];

  constructor(options: EngineOptions = {}) {
    this.engine = new FlowEngine(options);
    this.handles = new Handles(this.engine);
  }

  at(t: number): this {
    if (t < this.now) throw new Error(`time goes forward only (${t} < ${this.now})`);
    this.now = ms(t);
    return this;
  }

  private record(events: EngineEvent[]): EngineEvent[] {
    this.log.push(...events);
    return events;
  }

  publish(id: string, o: PublishOptions = {}): EngineEvent[] {
    return this.record(
      this.handles.publish(
        {
          id: messageId(id),
          ...(o.key !== undefined ? { key: keyId(o.key) } : {}),
          ...(o.config !== undefined ? { config: o.config } : {}),
          ...(o.retries !== undefined ? { retries: o.retries } : {}),
          ...(o.notBefore !== undefined ? { notBefore: ms(o.notBefore) } : {}),
        },
        this.now,
      ),
    );
  }

  /** Publishes `n` messages `${prefix}1…${prefix}n` with the same options; returns all their events. */
  publishMany(prefix: string, n: number, o: PublishOptions = {}): EngineEvent[] {
    const out: EngineEvent[] = [];
    for (let i = 1; i <= n; i++) out.push(...this.publish(`${prefix}${i}`, o));
    return out;
  }

  finish(id: string, result: AttemptResult = OK): EngineEvent[] {
    return this.record(this.handles.finish(id, result, this.now));
  }

  tick(t?: number): EngineEvent[] {
    if (t !== undefined) this.at(t);
    return this.record(this.engine.tick(this.now));
  }

  pause(key: string): EngineEvent[] {
    return this.record(this.engine.pause(keyId(key), this.now));
  }

  resume(key: string): EngineEvent[] {
    return this.record(this.engine.resume(keyId(key), this.now));
  }

  pin(key: string, c: { parallelism?: number; rate?: number; period?: number }): EngineEvent[] {
    return this.record(this.engine.pin(keyId(key), cfg(c), this.now));
  }

  unpin(key: string, u: { parallelism?: boolean; rate?: boolean }): EngineEvent[] {
    return this.record(this.engine.unpin(keyId(key), u, this.now));
  }

  resetRate(key: string): EngineEvent[] {
    return this.record(this.engine.resetRate(keyId(key), this.now));
  }

  cancel(id: string): EngineEvent[] {
    return this.record(this.handles.cancel(id, this.now));
  }

  forgetIdle(idleMs: number): EngineEvent[] {
    return this.record(this.engine.forgetIdleKeys(ms(idleMs), this.now));
  }

  setGlobal(parallelism: number | null): EngineEvent[] {
    return this.record(this.engine.setGlobalParallelism(parallelism, this.now));
  }

  key(key: string): KeySnapshot {
    const k = this.engine.getKey(keyId(key), this.now);
    if (k === undefined) throw new Error(`no key ${key}`);
    return k;
  }

  message(id: string): MessageView | undefined {
    return this.handles.view(id);
  }

  state(id: string): string {
    return this.message(id)?.state ?? 'ended';
  }

  /** Ids of the key's waiters, in order. */
  waiting(key: string): string[] {
    return this.key(key).waiting.map((w) => w.messageId);
  }

  /** Ids of the key's in-flight messages, sorted. */
  active(key: string): string[] {
    return this.key(key)
      .active.map((a) => a.messageId)
      .sort();
  }
}

export const asKey = (s: string): KeyId => keyId(s);
export const asId = (s: string): MessageId => messageId(s);
