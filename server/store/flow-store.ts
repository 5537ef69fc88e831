/**
 * The store seam: where flow control's state lives and where its decisions are made. The
 * controller (server/flow/controller.ts) is its only caller; every HTTP route, the realtime stream
 * and the shutdown go through the controller.
 *
 * Two stores implement it:
 * - `MemoryStore` (the default): the pure engine in this process. Every method answers at once
 *   (no promise), so the hot path costs what the engine costs.
 * - a Redis store: key state, waitlists, leases, delayed messages and the event sequence in
 *   Redis, one Lua script per operation, for several servers sharing one set of limits. Its
 *   methods answer with promises.
 *
 * Hence `MaybePromise`: callers that must work with both `await` (or use `then`), while the
 * memory store's synchronous answers keep the benchmarks' numbers.
 *
 * Time is the store's own: the memory store reads the clock it was given, a Redis store reads
 * Redis's `TIME`, so servers with skewed clocks still share one rate window.
 */
import type { EngineEvent } from '../../shared/events';
import type {
  Accepted,
  AttemptResult,
  EngineSnapshot,
  HandoffPolicy,
  KeySnapshot,
  MessageHandle,
  MessageView,
  PinInput,
  PublishInput,
  UnpinInput,
} from '../../shared/engine/types';
import type { KeyId, Millis } from '../../shared/engine/units';
import type { MessagePayload } from '../flow/types';

export type MaybePromise<T> = T | Promise<T>;

/**
 * A delivery the store granted to this process: begin the attempt now and report its end with
 * `finish`. Called during the command that granted it, before the command's events are announced.
 */
export type StartHandler = (message: MessageHandle, key: KeyId, attempt: number) => void;

/** Every event, in `seq` order, once (a Redis store: every server's events). */
export type EventsHandler = (events: readonly EngineEvent[]) => void;

/** The snapshot a dashboard starts from, and the last event it covers. */
export interface StoreSnapshot {
  seq: number;
  at: Millis;
  policy: HandoffPolicy;
  engine: EngineSnapshot;
}

/** Global parallelism and how much of it is used. */
export interface GlobalUse {
  parallelism: number | null;
  inFlight: number;
}

export interface FlowStore {
  readonly kind: 'memory' | 'redis';

  /** Sets who begins the deliveries this process is granted (one handler; the controller). */
  onStart(handler: StartHandler): void;
  /** Sets who hears every event (one handler; the controller fans them out). */
  onEvents(handler: EventsHandler): void;

  // Commands. Each returns the events it caused; they also reach the events handler, first.

  /** Takes a message in: it starts, waits, or is scheduled. */
  accept(input: PublishInput, payload: MessagePayload): MaybePromise<Accepted>;
  /** An attempt this process was granted has ended. */
  finish(message: MessageHandle, result: AttemptResult): MaybePromise<EngineEvent[]>;
  cancel(message: MessageHandle): MaybePromise<EngineEvent[]>;
  pause(key: KeyId): MaybePromise<EngineEvent[]>;
  resume(key: KeyId): MaybePromise<EngineEvent[]>;
  pin(key: KeyId, pin: PinInput): MaybePromise<EngineEvent[]>;
  unpin(key: KeyId, unpin: UnpinInput): MaybePromise<EngineEvent[]>;
  resetRate(key: KeyId): MaybePromise<EngineEvent[]>;
  setGlobalParallelism(parallelism: number | null): MaybePromise<EngineEvent[]>;
  /** Does what is due now: delayed and retrying messages become ready, rate windows reopen. */
  wake(): MaybePromise<EngineEvent[]>;
  /** When `wake` next has something to do (null: nothing is due). */
  nextWakeAt(): MaybePromise<Millis | null>;
  /** Forgets keys with nothing in them, idle for `idleMs`. */
  forgetIdleKeys(idleMs: Millis): MaybePromise<EngineEvent[]>;

  // Reads.

  /** The store's time, ms since the epoch. */
  now(): Millis;
  /** One key, its waitlist listed up to `waitlistLimit` (0: counts only). */
  key(key: KeyId, waitlistLimit?: number): MaybePromise<KeySnapshot | undefined>;
  /** Every key, counts only (no waiters or holders listed). */
  keys(): MaybePromise<KeySnapshot[]>;
  snapshot(waitlistLimit?: number): MaybePromise<StoreSnapshot>;
  message(message: MessageHandle): MaybePromise<MessageView | undefined>;
  global(): MaybePromise<GlobalUse>;

  /** Releases what the store holds open (connections, timers); the state stays where it lives. */
  close(): MaybePromise<void>;

  // A shared store's stop. (The memory store has neither: its server is the only one, and a stop
  // pauses its keys instead.)

  /**
   * This server is stopping: it takes no more tokens, the other servers do, at their next
   * wake-up, instead of when the leases of starts it would leave unused run out. Starts granted
   * to it before (in answers still on their way) are given back unbegun.
   */
  handBack?(): void;
  /**
   * Gives back the leases of the deliveries this server still runs (a stop's timeout passed):
   * each message goes on now, as its next attempt, on another server (it may have reached the
   * destination: delivered twice, as when a lease runs out). Answers how many.
   */
  releaseHeld?(): Promise<number>;
}

/** Runs `then` on a value that may be a promise: synchronously when it is not. */
export function after<T, R>(value: MaybePromise<T>, then: (v: T) => R): MaybePromise<R> {
  return value instanceof Promise ? value.then(then) : then(value);
}

/** Every value of a list that may hold promises: the list itself when none is one. */
export function all<T>(values: readonly MaybePromise<T>[]): MaybePromise<T[]> {
  return values.some((v) => v instanceof Promise) ? Promise.all(values) : (values as T[]);
}

/**
 * `then` on a value that may be a promise, and `fail` on its error, thrown at once or rejected:
 * synchronously when it is not a promise.
 */
export function attempt<T, R>(
  run: () => MaybePromise<T>,
  then: (v: T) => R,
  fail: (err: unknown) => R,
): MaybePromise<R> {
  let value: MaybePromise<T>;
  try {
    value = run();
  } catch (err) {
    return fail(err);
  }
  if (!(value instanceof Promise)) return then(value);
  return value.then(then, fail);
}
