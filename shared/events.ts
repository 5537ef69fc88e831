/**
 * The engine's event union and the Socket.IO event maps, typed once for both sides.
 * Every state change is one event, past tense, with `seq` (monotonic per server), `at` (ms) and `key`.
 */
import type { KeyId, MessageId, Millis } from './engine/units';
import type { KeySnapshot, EngineSnapshot, HandoffPolicy } from './engine/types';
import type { KeyHistoryWire } from './history';

/** Why a ready message may not start yet. */
export type WaitReason = 'parallelism' | 'rate' | 'paused' | 'global';

/**
 * The Workflow run and step a message belongs to. The pure engine never sets it: the server adds
 * it to what it streams (`message:accepted`, and the active and waiting entries of a snapshot).
 */
export interface WorkflowTag {
  runId: string;
  /**
   * What the call does, in the run's step names: `start` (the run's first call), a parallel
   * branch's step name, or `after <step>` (a call bringing that step's result, which runs on).
   */
  step: string;
}

/** Where a configuration change came from. */
export type ConfigSource = 'message' | 'pin' | 'unpin';

interface Base<T extends string> {
  type: T;
  seq: number;
  at: Millis;
  key: KeyId;
}

/**
 * A message was taken in. `notBefore` is set when it is delayed; `workflow` when it is a step of a
 * Workflow run (set by the server's stream, never by the engine).
 */
export interface MessageAccepted extends Base<'message:accepted'> {
  messageId: MessageId;
  notBefore?: Millis;
  workflow?: WorkflowTag;
}
/** A ready message joined the waitlist, for `reason`; `position` is 1-based. */
export interface MessageWaitlisted extends Base<'message:waitlisted'> {
  messageId: MessageId;
  reason: WaitReason;
  position: number;
}
/** A message took a free token (not a handoff) and starts its delivery now. */
export interface TokenAcquired extends Base<'token:acquired'> {
  messageId: MessageId;
  attempt: number;
  inFlight: number;
  /** Starts in the current rate window, including this one (only when the key has a rate). */
  rateCount?: number;
  ratePeriodStart?: Millis;
  /** How long it waited in the waitlist, 0 when it started at once. */
  waitedMs: Millis;
}
/** A finishing delivery's token went straight to a waiting message, which starts now. */
export interface TokenHandedOff extends Base<'token:handed-off'> {
  from: MessageId;
  to: MessageId;
  attempt: number;
  waitedMs: Millis;
  rateCount?: number;
  ratePeriodStart?: Millis;
}
/** A token went back to the pool (or was retired, when parallelism was lowered). */
export interface TokenReleased extends Base<'token:released'> {
  messageId: MessageId;
  inFlight: number;
}
export interface DeliverySucceeded extends Base<'delivery:succeeded'> {
  messageId: MessageId;
  attempt: number;
  status?: number;
  durationMs: Millis;
}
/** An attempt failed. `retryAt` is when it re-enters flow control, or null when it will not. */
export interface DeliveryFailed extends Base<'delivery:failed'> {
  messageId: MessageId;
  attempt: number;
  status?: number;
  error?: string;
  durationMs: Millis;
  retryAt: Millis | null;
}
export interface MessageDelivered extends Base<'message:delivered'> {
  messageId: MessageId;
}
export interface MessageDeadLettered extends Base<'message:dead-lettered'> {
  messageId: MessageId;
  reason: string;
}
export interface MessageCancelled extends Base<'message:cancelled'> {
  messageId: MessageId;
}
export interface KeyConfigured extends Base<'key:configured'> {
  source: ConfigSource;
  parallelism: number | null;
  rate: number | null;
  periodMs: Millis;
  pinnedParallelism: boolean;
  pinnedRate: boolean;
  ratePeriodStart: Millis;
  rateCount: number;
}
export type KeyPaused = Base<'key:paused'>;
export type KeyResumed = Base<'key:resumed'>;
export interface KeyRateReset extends Base<'key:rate-reset'> {
  ratePeriodStart: Millis;
}
/**
 * The key was idle long enough to be forgotten (nothing waiting, in flight or scheduled, nothing
 * paused or pinned, its rate window over); a later message brings it back as a new key.
 */
export type KeyForgotten = Base<'key:forgotten'>;
/**
 * Redis store: a delivery's lease ended without its answer (its server died and the lease ran out,
 * or its server stopped and gave it back): its token was freed and the message goes back through
 * flow control (as its next attempt, unless its delivery never began).
 */
export interface LeaseExpired extends Base<'lease:expired'> {
  messageId: MessageId;
}
/** The global parallelism limit changed (key is `"$"`). */
export interface GlobalConfigured extends Base<'global:configured'> {
  parallelism: number | null;
}

export type EngineEvent =
  | MessageAccepted
  | MessageWaitlisted
  | TokenAcquired
  | TokenHandedOff
  | TokenReleased
  | DeliverySucceeded
  | DeliveryFailed
  | MessageDelivered
  | MessageDeadLettered
  | MessageCancelled
  | KeyConfigured
  | KeyPaused
  | KeyResumed
  | KeyRateReset
  | KeyForgotten
  | LeaseExpired
  | GlobalConfigured;

export type EngineEventType = EngineEvent['type'];

/** An event that ends its message for good. */
export type MessageEnded = MessageDelivered | MessageDeadLettered | MessageCancelled;

export const isMessageEnd = (e: EngineEvent): e is MessageEnded =>
  e.type === 'message:delivered' ||
  e.type === 'message:dead-lettered' ||
  e.type === 'message:cancelled';

/** Every event type, in a stable order (for filters and exhaustiveness checks). */
export const ENGINE_EVENT_TYPES = [
  'message:accepted',
  'message:waitlisted',
  'token:acquired',
  'token:handed-off',
  'token:released',
  'delivery:succeeded',
  'delivery:failed',
  'message:delivered',
  'message:dead-lettered',
  'message:cancelled',
  'key:configured',
  'key:paused',
  'key:resumed',
  'key:rate-reset',
  'key:forgotten',
  'lease:expired',
  'global:configured',
] as const satisfies readonly EngineEventType[];

/** What the server sends to a dashboard when it connects or falls behind. */
export interface SnapshotPayload {
  /** The `seq` of the last event the snapshot includes; deltas follow from `seq + 1`. */
  seq: number;
  at: Millis;
  policy: HandoffPolicy;
  engine: EngineSnapshot;
  /**
   * What the dashboard draws of the last minutes, so a page opened or reloaded now shows what an
   * open page shows: the history of the recently active keys (see `shared/history.ts`), most
   * recently active first, and the latest events (at most RECENT_EVENTS, oldest first, the last
   * one at `seq`) for the event log.
   */
  history: KeyHistoryWire[];
  recentEvents: EngineEvent[];
}

export interface ServerToClientEvents {
  snapshot: (payload: SnapshotPayload) => void;
  /** Events in `seq` order, batched (at most one batch per ~50 ms per socket). */
  events: (batch: EngineEvent[]) => void;
}

export interface ClientToServerEvents {
  /** Ask for a fresh snapshot, e.g. after a gap in `seq`. */
  resync: () => void;
}

export type { KeySnapshot };
