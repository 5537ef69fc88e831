import type { AttemptResult } from '../../shared/engine/types';
import type { KeyId, MessageId, Millis } from '../../shared/engine/units';
import type { MessagePayload } from '../../shared/protocol/publish';

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

/** Defined with the wire format it is read from. */
export type { MessagePayload } from '../../shared/protocol/publish';

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
