import type { EngineEvent, WaitReason, WorkflowTag } from '../events';
import type { KeyId, MessageId, Millis } from './units';

/** Which waiter receives a freed token: the oldest (`fifo`), or a seeded random pick (`random`). */
export type HandoffPolicy = 'fifo' | 'random';

/** The flow-control part of a message (or a pin). Absent means "not limited". */
export interface FlowConfig {
  parallelism?: number;
  rate?: number;
  periodMs?: Millis;
}

/** Where a message is. Every accepted message is in exactly one of these. */
export type MessageState =
  'scheduled' | 'waiting' | 'in-flight' | 'retry-scheduled' | 'delivered' | 'dead' | 'cancelled';

export interface PublishInput {
  id: MessageId;
  /** Omitted: the message is limited only by global parallelism (pseudo-key `"$"`). */
  key?: KeyId;
  config?: FlowConfig;
  /** Retries after the first attempt (QStash default 3). */
  retries?: number;
  /** Not ready before this instant (QStash `Upstash-Not-Before` / `Upstash-Delay`). */
  notBefore?: Millis;
  /**
   * The Workflow step it is, for the dashboard: carried into its `message:accepted` and its key's
   * active and waiting entries, never read by the rules.
   */
  workflow?: WorkflowTag;
}

/** How an attempt ended, as the deliverer saw it. */
export type AttemptResult =
  | { ok: true; status?: number }
  | {
      ok: false;
      status?: number;
      error?: string;
      /** Overrides the default backoff (retry-delay expression, `Retry-After`). */
      retryDelayMs?: Millis;
      /** `489` with `Upstash-NonRetryable-Error: true`: fail at once. */
      nonRetryable?: boolean;
    };

export interface PinInput {
  parallelism?: number;
  rate?: number;
  periodMs?: Millis;
}

export interface UnpinInput {
  parallelism?: boolean;
  rate?: boolean;
}

/**
 * An accepted message, as the caller holds it: `publish` hands it back, the start handler is given
 * it, and `finish`, `cancel` and `view` take it. The engine keeps no id index of its own (at a
 * million waiting messages, an insert, a lookup and a delete per message, each a cache miss): the
 * caller, who has the id, keeps the handle (the server's message log does).
 */
export interface MessageHandle {
  readonly id: MessageId;
  /** The caller's data given to `publish`, unread by the engine. */
  readonly data: unknown;
}

/** What `publish` returns: the new message's handle and the events it caused. */
export interface Accepted {
  message: MessageHandle;
  events: EngineEvent[];
}

export interface MessageView {
  id: MessageId;
  key: KeyId;
  state: MessageState;
  /** Retries so far (the `Upstash-Retried` of the current or next attempt). */
  attempt: number;
  maxRetries: number;
  /** When it became ready (joined flow control) for its current attempt. */
  readyAt: Millis | null;
  startedAt: Millis | null;
  /** When a scheduled or retry-scheduled message becomes ready. */
  dueAt: Millis | null;
}

export interface ActiveView {
  messageId: MessageId;
  attempt: number;
  startedAt: Millis;
  /** The Workflow step it is, when it is one (as published). */
  workflow?: WorkflowTag;
}

export interface WaiterView {
  messageId: MessageId;
  attempt: number;
  readyAt: Millis;
  /** The reason it had when it joined; the key's `blockedBy` is the reason now. */
  reason: WaitReason;
  /** The Workflow step it is, when it is one (as published). */
  workflow?: WorkflowTag;
}

export interface KeySnapshot {
  key: KeyId;
  parallelism: number | null;
  rate: number | null;
  periodMs: Millis;
  pinnedParallelism: boolean;
  pinnedRate: boolean;
  paused: boolean;
  inFlight: number;
  rateCount: number;
  ratePeriodStart: Millis;
  waitListSize: number;
  /** Messages delayed or waiting for a retry's backoff. */
  scheduled: number;
  /** Why the head of the waitlist cannot start now (null when nothing waits or it can start). */
  blockedBy: WaitReason | null;
  active: ActiveView[];
  /** The waitlist in order, truncated to the snapshot's `waitlistLimit`. */
  waiting: WaiterView[];
}

export interface EngineStats {
  accepted: number;
  delivered: number;
  dead: number;
  cancelled: number;
}

export interface EngineSnapshot {
  globalParallelism: number | null;
  globalInFlight: number;
  keys: KeySnapshot[];
  stats: EngineStats;
}

export interface EngineOptions {
  globalParallelism?: number | null;
  policy?: HandoffPolicy;
  /** Seed of the `random` policy's source. */
  seed?: number;
  /** The `random` policy picks among this many oldest waiters (default 8). */
  randomWindow?: number;
}
