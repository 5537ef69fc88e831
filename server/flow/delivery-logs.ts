import { shownBody, shownHeaders } from '../../shared/protocol/redact';
import Denque from 'denque';
import type { EngineEvent } from '../../shared/events';
import type { MessageId, Millis } from '../../shared/engine/units';
import type { MessageLog } from './message-log';

/** QStash's log states (the official client's `State`). */
export type LogState =
  'CREATED' | 'ACTIVE' | 'DELIVERED' | 'ERROR' | 'RETRY' | 'FAILED' | 'CANCELED' | 'IN_PROGRESS';

/** One entry of `GET /v2/events`, in QStash's field names. */
export interface LogEntry {
  time: Millis;
  state: LogState;
  messageId: MessageId;
  url: string;
  /** RETRY: when the next attempt becomes ready. */
  nextDeliveryTime?: Millis;
  /** ERROR and FAILED: what went wrong. */
  error?: string;
  header?: Record<string, string>;
  body?: string;
  label?: string;
  flowControlKey?: string;
  /** The URL group the message was published through. */
  topicName?: string;
}

/** What `GET /v2/events` may filter on; each list matches any of its values. */
export interface LogQuery {
  messageIds: string[];
  states: string[];
  urls: string[];
  /** Of the destination URL. */
  hosts: string[];
  paths: string[];
  flowControlKeys: string[];
  labels: string[];
  /** URL group names (`topicName`, or the client's `urlGroup`). */
  topicNames: string[];
  fromDate?: number;
  toDate?: number;
  /** Continue after the entry this cursor names (newer entries come first). */
  cursor?: number;
  count: number;
}

/** Newest first; `cursor` is set when older entries remain. */
export interface LogPage {
  cursor?: string;
  events: LogEntry[];
}

interface Stored {
  /** Position in the whole history: the cursor. */
  n: number;
  entry: LogEntry;
}

/**
 * QStash's logs: every state a message went through (created, active, error, retry, delivered,
 * failed, canceled), newest first, for `GET /v2/events`. It follows the engine's events after the
 * message log, from which it takes each message's URL, headers, body and label. The latest
 * `capacity` entries are kept.
 */
export class DeliveryLogs {
  private readonly entries = new Denque<Stored>();
  private next = 0;

  constructor(
    private readonly messages: MessageLog,
    private readonly capacity = 10_000,
  ) {}

  /** Follows the engine: call with every batch, in order, after the message log has seen it. */
  apply(events: readonly EngineEvent[]): void {
    for (const e of events) {
      switch (e.type) {
        case 'message:accepted':
          this.add(e.messageId, e.at, 'CREATED');
          break;
        case 'token:acquired':
          this.add(e.messageId, e.at, 'ACTIVE');
          break;
        case 'token:handed-off':
          this.add(e.to, e.at, 'ACTIVE');
          break;
        case 'delivery:failed': {
          const why = e.error ?? (e.status !== undefined ? `status ${e.status}` : 'failed');
          this.add(e.messageId, e.at, 'ERROR', { error: why });
          if (e.retryAt !== null)
            this.add(e.messageId, e.at, 'RETRY', { nextDeliveryTime: e.retryAt });
          break;
        }
        case 'message:delivered':
          this.add(e.messageId, e.at, 'DELIVERED');
          break;
        case 'message:dead-lettered':
          this.add(e.messageId, e.at, 'FAILED', { error: e.reason });
          break;
        case 'message:cancelled':
          this.add(e.messageId, e.at, 'CANCELED');
          break;
        default:
          break;
      }
    }
  }

  /** The entries matching `q`, newest first, at most `q.count`, after `q.cursor` when given. */
  query(q: LogQuery): LogPage {
    const events: LogEntry[] = [];
    const match = (list: string[], value: string | undefined) =>
      list.length === 0 || (value !== undefined && list.includes(value));
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const s = this.entries.peekAt(i);
      if (s === undefined || (q.cursor !== undefined && s.n >= q.cursor)) continue;
      const e = s.entry;
      if (
        !match(q.messageIds, e.messageId) ||
        !match(q.states, e.state) ||
        !match(q.urls, e.url) ||
        ((q.hosts.length > 0 || q.paths.length > 0) && !matchHostPath(q, e.url)) ||
        !match(q.flowControlKeys, e.flowControlKey) ||
        !match(q.labels, e.label) ||
        !match(q.topicNames, e.topicName) ||
        (q.fromDate !== undefined && e.time < q.fromDate) ||
        (q.toDate !== undefined && e.time > q.toDate)
      )
        continue;
      if (events.length === q.count) return { cursor: String(s.n + 1), events };
      events.push(e);
    }
    return { events };
  }

  private add(
    id: MessageId,
    time: Millis,
    state: LogState,
    extra: Pick<LogEntry, 'error' | 'nextDeliveryTime'> = {},
  ): void {
    const m = this.messages.get(id);
    const entry: LogEntry = {
      time,
      state,
      messageId: id,
      url: m?.payload.destination ?? '',
      ...extra,
      ...(m !== undefined && Object.keys(m.payload.headers).length > 0
        ? { header: shownHeaders(m.payload.headers, m.payload.redact) }
        : {}),
      ...(m?.payload.body !== undefined ? shownBody(m.payload.body, m.payload.redact) : {}),
      ...(m?.label !== undefined ? { label: m.label } : {}),
      ...(m?.flowControlKey != null ? { flowControlKey: m.flowControlKey } : {}),
      ...(m?.urlGroup !== undefined ? { topicName: m.urlGroup } : {}),
    };
    this.entries.push({ n: this.next++, entry });
    if (this.entries.length > this.capacity) this.entries.shift();
  }
}

function matchHostPath(q: LogQuery, url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return (
    (q.hosts.length === 0 || q.hosts.includes(parsed.host)) &&
    (q.paths.length === 0 || q.paths.includes(parsed.pathname))
  );
}
