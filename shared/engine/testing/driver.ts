/**
 * Test helpers for the flow-control tests (the store contract, server/store/contract/): typed
 * event filters, config literals and attempt results. Not exported from the engine's index.
 */
import type { EngineEvent, EngineEventType } from '../../events';
import type { AttemptResult, FlowConfig } from '../types';
import { ms } from '../units';

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
