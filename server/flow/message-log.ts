import type { EngineEvent } from '../../shared/events';
import type { MessageHandle } from '../../shared/engine/types';
import type { KeyId, MessageId, Millis } from '../../shared/engine/units';
import type { MessagePayload } from './types';

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
  payload: MessagePayload;
  createdAt: Millis;
  status: MessageStatus;
  attempts: AttemptLog[];
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
 * What happened to each message, for `GET /v2/messages/{id}` and the dead-letter list. It follows
 * the engine's events; it never decides anything. Ended messages are kept up to `keepEnded` (the
 * oldest forgotten first); dead letters are kept until deleted through the API.
 */
export class MessageLog {
  private readonly live = new Map<MessageId, LoggedMessage>();
  private readonly ended = new Map<MessageId, LoggedMessage>();
  private readonly dead = new Map<string, LoggedMessage>();

  constructor(private readonly keepEnded = 10_000) {}

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
    const entry: LoggedMessage = {
      messageId: id,
      flowControlKey: key,
      payload,
      createdAt: at,
      status: 'waiting',
      attempts: [],
      ...(label !== undefined ? { label } : {}),
      ...(urlGroup !== undefined ? { urlGroup } : {}),
    };
    this.live.set(id, entry);
    return entry;
  }

  /** Forgets a message the engine refused after `accepted` recorded it. */
  discard(id: MessageId): void {
    this.live.delete(id);
  }

  get(id: MessageId): LoggedMessage | undefined {
    return this.live.get(id) ?? this.ended.get(id);
  }

  /** Messages that have not ended, optionally of one key. */
  *pending(key?: KeyId): IterableIterator<LoggedMessage> {
    for (const m of this.live.values()) if (key === undefined || m.flowControlKey === key) yield m;
  }

  deadLetters(): IterableIterator<LoggedMessage> {
    return this.dead.values();
  }

  deadLetter(dlqId: string): LoggedMessage | undefined {
    return this.dead.get(dlqId);
  }

  removeDeadLetter(dlqId: string): boolean {
    return this.dead.delete(dlqId);
  }

  /** Follows the engine: call with every batch, in order. */
  apply(events: readonly EngineEvent[]): void {
    for (const e of events) {
      switch (e.type) {
        case 'message:accepted':
          this.update(e.messageId, (m) => {
            if (e.notBefore !== undefined) {
              m.status = 'scheduled';
              m.nextAt = e.notBefore;
            }
          });
          break;
        case 'message:waitlisted':
          this.update(e.messageId, (m) => {
            m.status = 'waiting';
            delete m.nextAt;
          });
          break;
        case 'token:acquired':
        case 'token:handed-off': {
          const id = e.type === 'token:acquired' ? e.messageId : e.to;
          this.update(id, (m) => {
            m.status = 'in-flight';
            delete m.nextAt;
            m.attempts.push({ attempt: e.attempt, startedAt: e.at });
          });
          break;
        }
        case 'delivery:succeeded':
        case 'delivery:failed':
          this.update(e.messageId, (m) => {
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
          });
          break;
        case 'message:delivered':
          this.end(e.messageId, 'delivered', e.at);
          break;
        case 'message:cancelled':
          this.end(e.messageId, 'cancelled', e.at);
          break;
        case 'message:dead-lettered': {
          const m = this.end(e.messageId, 'failed', e.at);
          if (m !== undefined) {
            m.reason = e.reason;
            m.dlqId = `dlq_${e.messageId.replace(/^msg_/, '')}`;
            this.dead.set(m.dlqId, m);
          }
          break;
        }
        default:
          break;
      }
    }
  }

  private update(id: MessageId, change: (m: LoggedMessage) => void): void {
    const m = this.live.get(id);
    if (m !== undefined) change(m);
  }

  private end(id: MessageId, status: MessageStatus, at: Millis): LoggedMessage | undefined {
    const m = this.live.get(id);
    if (m === undefined) return undefined;
    this.live.delete(id);
    m.handle = undefined; // not `delete`: that would turn the entry into a slow dictionary object
    m.status = status;
    m.endedAt = at;
    delete m.nextAt;
    this.ended.set(id, m);
    if (this.ended.size > this.keepEnded) {
      const oldest = this.ended.keys().next().value as MessageId;
      this.ended.delete(oldest);
    }
    return m;
  }
}
