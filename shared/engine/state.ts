/**
 * The engine's internal records. Classes rather than object literals so every record shares one
 * hidden class: the engine holds millions of them and walks them on every start and finish.
 */
import type { WaitReason, WorkflowTag } from '../events';
import type { MessageHandle, MessageState } from './types';
import { DEFAULT_PERIOD, type KeyId, type MessageId, type Millis } from './units';
import { Waitlist } from './waitlist';

export class MessageRecord implements MessageHandle {
  state: MessageState;
  attempt = 0;
  /**
   * When it is ready: while scheduled (delayed, or in a retry's backoff) the instant it will join
   * flow control; after that, the instant it joined for the current attempt. One field for both
   * keeps the record small (each time field holds a boxed number; a million records wait at once).
   */
  readyAt = 0 as Millis;
  startedAt = 0 as Millis;
  reason: WaitReason = 'parallelism';
  /** Times a younger waiter was taken before it since it joined the waitlist (random policy). */
  passes = 0;
  /** Cancel asked while in flight: no retry after this attempt. */
  cancelRequested = false;
  /** Neighbours in its key's list of in-flight messages (see `ActiveList`), null when not in it. */
  prevActive: MessageRecord | null = null;
  nextActive: MessageRecord | null = null;

  constructor(
    readonly id: MessageId,
    readonly key: KeyState,
    readonly maxRetries: number,
    state: MessageState,
    /** The caller's opaque data (the server keeps the payload here), never read by the engine. */
    readonly data: unknown,
    /** The Workflow step it is (PublishInput.workflow), shown in views, never read by the rules. */
    readonly workflow: WorkflowTag | undefined,
  ) {
    this.state = state;
  }
}

export class KeyState {
  parallelism: number | null = null;
  rate: number | null = null;
  periodMs: Millis = DEFAULT_PERIOD;
  pinnedParallelism = false;
  pinnedRate = false;
  paused = false;
  inFlight = 0;
  rateCount = 0;
  windowStart: Millis;
  /** Messages delayed or in a retry backoff. */
  scheduled = 0;
  /** The instant a window-rollover timer is set for (0: none). */
  windowTimerAt = 0;
  /** Queued for a global-parallelism slot. */
  inGlobalQueue = false;
  /** Its creation, the last command naming it, or the last of its messages ending (see `forgetIdleKeys`). */
  lastActivityAt: Millis;
  readonly active = new ActiveList();
  readonly waitlist = new Waitlist();

  constructor(
    readonly id: KeyId,
    /** The engine holding this key: a handle from another engine is refused, not obeyed. */
    readonly owner: object,
    now: Millis,
  ) {
    this.windowStart = now;
    this.lastActivityAt = now;
  }
}

/**
 * A key's in-flight messages in start order, linked through the records themselves: adding and
 * removing allocate nothing and touch no hash table (both sit on the handoff path).
 */
export class ActiveList {
  private head: MessageRecord | null = null;
  private tail: MessageRecord | null = null;

  add(m: MessageRecord): void {
    m.prevActive = this.tail;
    m.nextActive = null;
    if (this.tail === null) this.head = m;
    else this.tail.nextActive = m;
    this.tail = m;
  }

  delete(m: MessageRecord): void {
    if (m.prevActive === null) this.head = m.nextActive;
    else m.prevActive.nextActive = m.nextActive;
    if (m.nextActive === null) this.tail = m.prevActive;
    else m.nextActive.prevActive = m.prevActive;
    m.prevActive = null;
    m.nextActive = null;
  }

  *[Symbol.iterator](): IterableIterator<MessageRecord> {
    for (let m = this.head; m !== null; m = m.nextActive) yield m;
  }
}
