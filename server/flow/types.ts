import type { AttemptResult } from '../../shared/engine/types';
import type { KeyId, MessageId, Millis } from '../../shared/engine/units';

/** The server's clock; tests inject their own. */
export interface Clock {
  now(): Millis;
}

export const systemClock: Clock = { now: () => Date.now() as Millis };

/** Timers, injectable so tests can drive time. */
export interface Timers {
  set(fn: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

export const systemTimers: Timers = {
  set: (fn, delayMs) => {
    const t = setTimeout(fn, delayMs);
    t.unref?.();
    return t;
  },
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** What is sent when a message is delivered (everything but flow control). */
export interface MessagePayload {
  destination: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** Longest an attempt may take (`Upstash-Timeout`); the server's default when absent. */
  timeoutMs?: number;
  /** `Upstash-Retry-Delay`, in ms over `retried`; the default backoff when absent. */
  retryDelay?: string;
}

export interface Delivery {
  id: MessageId;
  key: KeyId;
  /** Retries so far: 0 on the first attempt (`Upstash-Retried`). */
  attempt: number;
  payload: MessagePayload;
}

/** Performs one attempt and says how it ended. Never rejects: failures are results. */
export interface Deliverer {
  deliver(delivery: Delivery): Promise<AttemptResult>;
}
