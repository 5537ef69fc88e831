import type { EngineEvent } from '../../shared/events';
import type { MessageHandle } from '../../shared/engine/types';
import type { KeyId, MessageId, Millis } from '../../shared/engine/units';
import {
  ATTEMPT_BYTES,
  BoundedMap,
  DEFAULT_RETENTION,
  MESSAGE_BYTES,
  bodyBytes,
  headerBytes,
  ownBytes,
  stringBytes,
  type RetentionLimit,
} from './retention';
import { systemClock, type Clock, type MessagePayload } from './types';
import type { MaybePromise } from '../store/flow-store';
import type { CallbackSpec } from './callbacks';

/** A message's state as the API reports it (the engine's states, with `dead` named `failed`). */
export type MessageStatus =
  'scheduled' | 'waiting' | 'in-flight' | 'retry-scheduled' | 'delivered' | 'failed' | 'cancelled';

export interface AttemptLog {
  attempt: number;
  startedAt: Millis;
  endedAt?: Millis;
  status?: number;
  error?: string;
}

export interface LoggedMessage {
  messageId: MessageId;
  /** null for messages published without a flow-control key. */
  flowControlKey: KeyId | null;
  /** Its body is gone once the message has ended, unless `keepBodies` or it is a dead letter. */
  payload: MessagePayload;
  createdAt: Millis;
  status: MessageStatus;
  attempts: readonly AttemptLog[];
  /** When the next attempt becomes ready (delayed or retrying). */
  nextAt?: Millis;
  endedAt?: Millis;
  /** Why it failed for good. */
  reason?: string;
  label?: string;
  /** The URL group it was published through, if any (QStash's `topicName`). */
  urlGroup?: string;
  /** Set when it entered the dead-letter list. */
  dlqId?: string;
  /** The engine's handle while the message has not ended (to cancel it); dropped when it ends. */
  handle?: MessageHandle;
}

/**
 * What the API reads of the message log, and the dead letters it deletes: this process's
 * `MessageLog` (answering at once), or the log in Redis shared by every server (with promises).
 */
export interface MessageReads {
  /** A message that has not ended, or one still in the history or the dead-letter list. */
  get(id: MessageId): MaybePromise<LoggedMessage | undefined>;
  /** Messages that have not ended. */
  pending(): MaybePromise<Iterable<LoggedMessage>>;
  /** The dead letters, oldest first. */
  deadLetters(): MaybePromise<Iterable<LoggedMessage>>;
  deadLetter(dlqId: string): MaybePromise<LoggedMessage | undefined>;
  removeDeadLetter(dlqId: string): MaybePromise<boolean>;
}

/**
 * The message log every server on one Redis shares: the publisher writes a message's document
 * before the store takes it, and every server hands it every batch of events (it applies each
 * once). The API reads it instead of this process's `MessageLog`.
 */
export interface SharedMessageLog extends MessageReads {
  accepted(
    id: MessageId,
    key: KeyId | null,
    payload: MessagePayload,
    at: Millis,
    label?: string,
    urlGroup?: string,
    /** Kept with the message until a server publishes the callback (`takeCallbacks`). */
    callbacks?: CallbackSpec,
  ): Promise<void>;
  discard(id: MessageId): Promise<void>;
  /**
   * Messages' callbacks, for the one server to publish them, in one call for a batch of ends:
   * answers each message's once (undefined after, or when it had none), with when the message
   * was created.
   */
  takeCallbacks(
    ids: readonly MessageId[],
  ): Promise<Array<{ spec: CallbackSpec; createdAt: Millis } | undefined>>;
  /** Follows the store: every batch of events, in order. */
  apply(events: readonly EngineEvent[]): void;
  /** Begins following (after catching up with what happened while no server did). */
  start(): void;
  close(): Promise<void>;
}

/** Shared by every message that has not started yet (most waiting ones): never pushed to. */
const NO_ATTEMPTS: AttemptLog[] = Object.freeze([]) as unknown as AttemptLog[];

/**
 * A message that has not ended. A class, so every record has one shape with its fields in the
 * object itself (no `delete`, which would turn it into a slow dictionary), and only the fields a
 * live message uses: the fields of an end are on `Ended`. A waiting message costs this object and
 * its slot in `live` (see `bench/server/waiting-memory.ts`).
 */
class Live implements LoggedMessage {
  status: MessageStatus = 'waiting';
  attempts = NO_ATTEMPTS;
  nextAt: Millis | undefined = undefined;
  handle: MessageHandle | undefined = undefined;

  constructor(
    readonly messageId: MessageId,
    readonly flowControlKey: KeyId | null,
    readonly payload: MessagePayload,
    readonly createdAt: Millis,
    readonly label: string | undefined,
    readonly urlGroup: string | undefined,
  ) {}
}

/** A message that has ended: what the history and the dead-letter list keep. */
class Ended implements LoggedMessage {
  readonly messageId: MessageId;
  readonly flowControlKey: KeyId | null;
  payload: MessagePayload;
  readonly createdAt: Millis;
  readonly attempts: readonly AttemptLog[];
  readonly label: string | undefined;
  readonly urlGroup: string | undefined;
  readonly dlqId: string | undefined;

  constructor(
    m: Live,
    readonly status: MessageStatus,
    readonly endedAt: Millis,
    readonly reason: string | undefined,
  ) {
    this.messageId = m.messageId;
    this.flowControlKey = m.flowControlKey;
    this.payload = m.payload;
    this.createdAt = m.createdAt;
    this.attempts = m.attempts;
    this.label = m.label;
    this.urlGroup = m.urlGroup;
    this.dlqId = reason === undefined ? undefined : dlqIdOf(m.messageId);
  }
}

export interface MessageLogOptions {
  /** Ended messages (counted without their body unless `keepBodies`). */
  history?: RetentionLimit;
  keepBodies?: boolean;
  deadLetters?: RetentionLimit;
  /** For ages; the system's by default. */
  clock?: Clock;
  /** Told of each dead letter forgotten to stay within `deadLetters`, never silently. */
  onDeadLetterDropped?: (m: LoggedMessage, why: 'bytes' | 'age') => void;
}

/** An ended message's estimated cost, its body counted only when `withBody`. */
function messageBytes(m: LoggedMessage, withBody: boolean): number {
  const p = m.payload;
  let n =
    MESSAGE_BYTES +
    stringBytes(p.destination) +
    stringBytes(p.retryDelay) +
    headerBytes(p.headers) +
    stringBytes(m.label) +
    stringBytes(m.urlGroup) +
    stringBytes(m.reason) +
    stringBytes(m.dlqId);
  for (const a of m.attempts) n += ATTEMPT_BYTES + stringBytes(a.error);
  return withBody ? n + bodyBytes(p.body) : n;
}

/** The payload without its body (a copy: the original may be shared; no `delete`, see Live). */
function withoutBody(p: MessagePayload): MessagePayload {
  const { body: _body, ...rest } = p;
  return rest;
}

/**
 * What happened to each message, for `GET /v2/messages/{id}` and the dead-letter list. It follows
 * the engine's events; it never decides anything.
 *
 * Messages that have not ended are all kept (each was accepted). Ended ones are kept within the
 * `history` budget and age, oldest forgotten first, without their body unless `keepBodies`; dead
 * letters within the `deadLetters` budget and age, with their body (they are retried from it),
 * until deleted through the API. A dead letter forgotten or deleted loses its body in the history
 * too, so nothing holds a body outside a budget.
 */
export class MessageLog implements MessageReads {
  private readonly live = new Map<MessageId, Live>();
  private readonly ended: BoundedMap<MessageId, Ended>;
  private readonly dead: BoundedMap<string, Ended>;
  private readonly keepBodies: boolean;
  private readonly clock: Clock;

  constructor(options: MessageLogOptions = {}) {
    this.keepBodies = options.keepBodies ?? DEFAULT_RETENTION.keepBodies;
    this.clock = options.clock ?? systemClock;
    const keepBodies = this.keepBodies;
    // A dead letter's body is counted in the dead-letter list, not twice.
    this.ended = new BoundedMap(
      options.history ?? DEFAULT_RETENTION.history,
      (m) => messageBytes(m, keepBodies && m.dlqId === undefined),
      (m) => m.endedAt ?? m.createdAt,
    );
    this.dead = new BoundedMap(
      options.deadLetters ?? DEFAULT_RETENTION.deadLetters,
      (m) => messageBytes(m, true),
      (m) => m.endedAt ?? m.createdAt,
      (_dlqId, m, why) => {
        this.leftDeadLetters(m);
        options.onDeadLetterDropped?.(m, why);
      },
    );
  }

  /**
   * Records a message about to be accepted (before its events arrive); the caller sets the
   * returned entry's `handle` once the engine has it.
   */
  accepted(
    id: MessageId,
    key: KeyId | null,
    payload: MessagePayload,
    at: Millis,
    label?: string,
    urlGroup?: string,
  ): LoggedMessage {
    const entry = new Live(id, key, payload, at, label, urlGroup);
    this.live.set(id, entry);
    return entry;
  }

  /** Forgets a message the engine refused after `accepted` recorded it. */
  discard(id: MessageId): void {
    this.live.delete(id);
  }

  /** A message that has not ended, or one still in the history or the dead-letter list. */
  get(id: MessageId): LoggedMessage | undefined {
    const live = this.live.get(id);
    if (live !== undefined) return live;
    this.trim();
    return this.ended.get(id) ?? this.dead.get(dlqIdOf(id));
  }

  /** Messages that have not ended, optionally of one key. */
  *pending(key?: KeyId): IterableIterator<LoggedMessage> {
    for (const m of this.live.values()) if (key === undefined || m.flowControlKey === key) yield m;
  }

  /** The dead letters, oldest first. */
  deadLetters(): IterableIterator<LoggedMessage> {
    this.trim();
    return this.dead.values();
  }

  deadLetter(dlqId: string): LoggedMessage | undefined {
    this.trim();
    return this.dead.get(dlqId);
  }

  removeDeadLetter(dlqId: string): boolean {
    const m = this.dead.get(dlqId);
    if (m === undefined) return false;
    this.dead.delete(dlqId);
    this.leftDeadLetters(m);
    return true;
  }

  /** Estimated bytes held by the history and the dead-letter list (live messages not counted). */
  get retainedBytes(): { history: number; deadLetters: number } {
    return { history: this.ended.bytes, deadLetters: this.dead.bytes };
  }

  /** Follows the engine: call with every batch, in order. */
  apply(events: readonly EngineEvent[]): void {
    for (const e of events) {
      switch (e.type) {
        case 'message:accepted': {
          const m = this.live.get(e.messageId);
          if (m !== undefined && e.notBefore !== undefined) {
            m.status = 'scheduled';
            m.nextAt = e.notBefore;
          }
          break;
        }
        case 'message:waitlisted': {
          const m = this.live.get(e.messageId);
          if (m !== undefined) {
            m.status = 'waiting';
            m.nextAt = undefined;
          }
          break;
        }
        case 'token:acquired':
        case 'token:handed-off': {
          const m = this.live.get(e.type === 'token:acquired' ? e.messageId : e.to);
          if (m === undefined) break;
          m.status = 'in-flight';
          m.nextAt = undefined;
          const attempt: AttemptLog = { attempt: e.attempt, startedAt: e.at };
          if (m.attempts === NO_ATTEMPTS) m.attempts = [attempt];
          else m.attempts.push(attempt);
          break;
        }
        case 'delivery:succeeded':
        case 'delivery:failed': {
          const m = this.live.get(e.messageId);
          if (m === undefined) break;
          const a = m.attempts[m.attempts.length - 1];
          if (a !== undefined) {
            a.endedAt = e.at;
            if (e.status !== undefined) a.status = e.status;
            if (e.type === 'delivery:failed' && e.error !== undefined) a.error = e.error;
          }
          if (e.type === 'delivery:failed' && e.retryAt !== null) {
            m.status = 'retry-scheduled';
            m.nextAt = e.retryAt;
          }
          break;
        }
        case 'message:delivered':
          this.end(e.messageId, 'delivered', e.at);
          break;
        case 'message:cancelled':
          this.end(e.messageId, 'cancelled', e.at);
          break;
        case 'message:dead-lettered':
          this.end(e.messageId, 'failed', e.at, e.reason);
          break;
        default:
          break;
      }
    }
  }

  private end(id: MessageId, status: MessageStatus, at: Millis, reason?: string): void {
    const live = this.live.get(id);
    if (live === undefined) return;
    this.live.delete(id);
    // Whoever still holds the live record (a bulk cancel's list) sees that it has ended.
    live.handle = undefined;
    live.status = status;
    const m = new Ended(live, status, at, reason);
    const now = Math.max(at, this.clock.now());
    const body = m.payload.body;
    if (body !== undefined) {
      if (m.dlqId !== undefined || this.keepBodies) {
        const own = ownBytes(body);
        if (own !== body) m.payload = { ...m.payload, body: own };
      } else m.payload = withoutBody(m.payload);
    }
    if (m.dlqId !== undefined) this.dead.set(m.dlqId, m, now);
    this.ended.set(id, m, now);
  }

  /** A dead letter gone (forgotten or deleted) keeps no body in the history. */
  private leftDeadLetters(m: Ended): void {
    if (m.payload.body !== undefined) m.payload = withoutBody(m.payload);
  }

  /** Forgets what has grown too old, so a read never shows it. */
  private trim(): void {
    const now = this.clock.now();
    this.ended.trim(now);
    this.dead.trim(now);
  }
}

/**
 * A dead letter's id, from its message's (as server/store/redis/messages.lua names it too): known
 * from the id alone, so a run failed on any server names its dead letter without reading a log.
 */
export const dlqIdOf = (id: MessageId): string => `dlq_${id.replace(/^msg_/, '')}`;
