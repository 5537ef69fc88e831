/** The shapes of the dashboard's picture of the engine (see flow-state.ts for how it moves). */
import type {
  EngineStats,
  HandoffPolicy,
  KeySnapshot,
  WaiterView,
} from '../../shared/engine/types';
import type { MessageId, Millis } from '../../shared/engine/units';
import type { WorkflowTag } from '../../shared/events';

/** Waiters kept per key; the rest of a longer waitlist is only counted (a snapshot lists 100 too). */
export const VISIBLE_WAITERS = 100;

/** A delivery in flight, holding token number `token` (1-based) of its key. */
export interface ActiveRequest {
  messageId: MessageId;
  attempt: number;
  startedAt: Millis;
  /** Which token it holds; a handoff passes the same number on, so a token keeps its identity. */
  token: number;
  /**
   * How it got its token, as this page saw it: a live `token:acquired` or `token:handed-off`
   * (the view animates those), or already running in a snapshot (nothing to animate).
   */
  via: 'acquired' | 'handoff' | 'snapshot';
}

/** A waiting message, as the engine lists it (its Workflow step is in `FlowState.workflows`). */
export type Waiter = Omit<WaiterView, 'workflow'>;

/**
 * One key as the page holds it: the engine's key snapshot (limits, pins, window, counts), with the
 * active requests numbered by token, and what the page saw of released tokens.
 */
export interface KeyView extends Omit<KeySnapshot, 'active' | 'waiting' | 'blockedBy'> {
  active: ActiveRequest[];
  /** The head of the waitlist, in order: at most VISIBLE_WAITERS of its `waitListSize`. */
  waiting: Waiter[];
  /** When each token was last released, as this page saw it (the view animates its return). */
  freedAt: Readonly<Record<number, Millis>>;
}

export interface FlowState {
  /** False until the first snapshot, and after a gap until the next one: batches are ignored. */
  synced: boolean;
  /** The `seq` of the last event applied. */
  seq: number;
  /** The server time of the latest snapshot or event. */
  at: Millis;
  policy: HandoffPolicy;
  globalParallelism: number | null;
  globalInFlight: number;
  stats: EngineStats;
  keys: Record<string, KeyView>;
  /**
   * The Workflow step of each live message this page knows to be one, by message id: learned
   * from `message:accepted` and from snapshots, dropped when the message ends. A snapshot lists
   * only active and visible waiting messages, so a step delayed or retrying across a snapshot is
   * known again only from a later one.
   */
  workflows: Readonly<Record<string, WorkflowTag>>;
  /**
   * Server time minus page time, measured when the last snapshot arrived; the views add it to the
   * page's clock to place "now" in the server's rate windows and to age the waiters.
   */
  clockOffsetMs: number;
}

/** What applying a batch did: `resync` means the client must ask the server for a snapshot. */
export type EventsOutcome = 'applied' | 'ignored' | 'resync';
