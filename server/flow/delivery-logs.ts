import Denque from 'denque';
import { isMessageEnd, type EngineEvent } from '../../shared/events';
import type { MessageId, Millis } from '../../shared/engine/units';
import { describeBody } from '../../shared/protocol/body';
import { REDACTED, shownHeaders } from '../../shared/protocol/redact';
import type { LoggedMessage, MessageLog } from './message-log';
import {
  DEFAULT_RETENTION,
  LOG_ENTRY_BYTES,
  LOG_INFO_BYTES,
  bodyBytes,
  headerBytes,
  ownBytes,
  stringBytes,
  type RetentionOptions,
} from './retention';
import { systemClock, type Clock, type MessagePayload } from './types';
import type { MaybePromise } from '../store/flow-store';

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

/**
 * QStash's logs as the API and the controller use them: this process's `DeliveryLogs`, or the
 * logs every server on one Redis shares (answering with promises).
 */
export interface Logs {
  /** Follows the engine: every batch of events, in order, after the message log has seen it. */
  apply(events: readonly EngineEvent[]): void;
  /** The entries matching `q`, newest first, at most `q.count`, after `q.cursor` when given. */
  query(q: LogQuery): MaybePromise<LogPage>;
}

/** The logs every server on one Redis shares: it begins following after catching up. */
export interface SharedLogs extends Logs {
  start(): void;
  close(): Promise<void>;
}

/** What a message's entries share: its URL, headers, body, label… as they are shown. */
export interface LogDetails {
  url: string;
  /** As shown (redacted); absent when the message has none. */
  header: Record<string, string> | undefined;
  /** The bytes, kept only up to `maxBodyBytes`; `REDACTED` when the body may not be shown. */
  body: Uint8Array | typeof REDACTED | undefined;
  label: string | undefined;
  flowControlKey: string | undefined;
  topicName: string | undefined;
}

/** What the details are taken from: the message as logged, its body aside. */
export type LogSource = Pick<LoggedMessage, 'label' | 'flowControlKey' | 'urlGroup'> & {
  payload: Pick<MessagePayload, 'destination' | 'headers' | 'redact'>;
};

/**
 * The body a message's entries show: none, `REDACTED`, or the bytes when they are at most
 * `maxBodyBytes` (a larger body is left out).
 */
export function logBody(
  body: Uint8Array | undefined,
  redact: MessagePayload['redact'],
  maxBodyBytes: number,
): LogDetails['body'] {
  if (body === undefined) return undefined;
  if (redact?.body === true) return REDACTED;
  return body.byteLength <= maxBodyBytes ? ownBytes(body) : undefined;
}

/** A message's details (`m` undefined: the message log does not know it), with its `body`. */
export function logDetails(m: LogSource | undefined, body: LogDetails['body']): LogDetails {
  const p = m?.payload;
  return {
    url: p?.destination ?? '',
    header:
      p !== undefined && Object.keys(p.headers).length > 0
        ? shownHeaders(p.headers, p.redact)
        : undefined,
    body,
    label: m?.label,
    flowControlKey: m?.flowControlKey ?? undefined,
    topicName: m?.urlGroup,
  };
}

/** One entry without its message's details. */
export interface LogRecord {
  readonly time: Millis;
  readonly state: LogState;
  readonly messageId: MessageId;
  readonly error: string | undefined;
  readonly nextDeliveryTime: Millis | undefined;
}

/** Whether an entry with these details matches the query's filters (not its cursor). */
export function entryMatches(q: LogQuery, s: LogRecord, d: LogDetails): boolean {
  const match = (list: string[], value: string | undefined) =>
    list.length === 0 || (value !== undefined && list.includes(value));
  return (
    match(q.messageIds, s.messageId) &&
    match(q.states, s.state) &&
    match(q.urls, d.url) &&
    ((q.hosts.length === 0 && q.paths.length === 0) || matchHostPath(q, d.url)) &&
    match(q.flowControlKeys, d.flowControlKey) &&
    match(q.labels, d.label) &&
    match(q.topicNames, d.topicName) &&
    (q.fromDate === undefined || s.time >= q.fromDate) &&
    (q.toDate === undefined || s.time <= q.toDate)
  );
}

/** The entry in QStash's shape; a kept body is decoded now, not once per entry. */
export function shownEntry(s: LogRecord, i: LogDetails): LogEntry {
  return {
    time: s.time,
    state: s.state,
    messageId: s.messageId,
    url: i.url,
    ...(s.nextDeliveryTime !== undefined ? { nextDeliveryTime: s.nextDeliveryTime } : {}),
    ...(s.error !== undefined ? { error: s.error } : {}),
    ...(i.header !== undefined ? { header: i.header } : {}),
    ...(i.body === REDACTED
      ? { body: REDACTED }
      : i.body !== undefined
        ? describeBody(i.body)
        : {}),
    ...(i.label !== undefined ? { label: i.label } : {}),
    ...(i.flowControlKey !== undefined ? { flowControlKey: i.flowControlKey } : {}),
    ...(i.topicName !== undefined ? { topicName: i.topicName } : {}),
  };
}

/** What a message's entries share: taken once from the message log, counted once. */
interface Info extends LogDetails {
  /** Entries in the logs that point here; its bytes leave with the last of them. */
  refs: number;
  bytes: number;
}

/** One entry as kept: the state and its time, its message's details by reference. */
class Stored implements LogRecord {
  constructor(
    /** Position in the whole history: the cursor. */
    readonly n: number,
    readonly time: Millis,
    readonly state: LogState,
    readonly messageId: MessageId,
    readonly info: Info,
    readonly error: string | undefined,
    readonly nextDeliveryTime: Millis | undefined,
  ) {}

  get bytes(): number {
    return LOG_ENTRY_BYTES + stringBytes(this.error);
  }
}

/** Told of one entry an event makes. */
export type AddEntry = (
  id: MessageId,
  time: Millis,
  state: LogState,
  error?: string,
  nextDeliveryTime?: Millis,
) => void;

/** The entries an event makes, in order (none for most events; two for a failure retried). */
export function eachLogEntry(e: EngineEvent, add: AddEntry): void {
  switch (e.type) {
    case 'message:accepted':
      add(e.messageId, e.at, 'CREATED');
      break;
    case 'token:acquired':
      add(e.messageId, e.at, 'ACTIVE');
      break;
    case 'token:handed-off':
      add(e.to, e.at, 'ACTIVE');
      break;
    case 'delivery:failed': {
      const why = e.error ?? (e.status !== undefined ? `status ${e.status}` : 'failed');
      add(e.messageId, e.at, 'ERROR', why);
      if (e.retryAt !== null) add(e.messageId, e.at, 'RETRY', undefined, e.retryAt);
      break;
    }
    case 'message:delivered':
      add(e.messageId, e.at, 'DELIVERED');
      break;
    case 'message:dead-lettered':
      add(e.messageId, e.at, 'FAILED', e.reason);
      break;
    case 'message:cancelled':
      add(e.messageId, e.at, 'CANCELED');
      break;
    default:
      break;
  }
}

export interface DeliveryLogsOptions {
  /** Bytes and age kept; bodies larger than `maxBodyBytes` are left out of the entries. */
  limit?: RetentionOptions['logs'];
  /** For ages; the system's by default. */
  clock?: Clock;
}

/**
 * QStash's logs: every state a message went through (created, active, error, retry, delivered,
 * failed, canceled), newest first, for `GET /v2/events`. It follows the engine's events after the
 * message log, from which it takes each message's URL, headers, body and label, once per message:
 * its entries share them. Entries are kept within a byte budget and an age, oldest out first; a
 * body is shown up to `maxBodyBytes` (a larger one is left out, so the logs never pin it).
 */
export class DeliveryLogs implements Logs {
  private readonly entries = new Denque<Stored>();
  /** The details of messages whose entries are still kept, to share with their next entries. */
  private readonly infos = new Map<MessageId, Info>();
  private next = 0;
  private total = 0;
  private readonly limit: RetentionOptions['logs'];
  private readonly clock: Clock;

  constructor(
    private readonly messages: MessageLog,
    options: DeliveryLogsOptions = {},
  ) {
    this.limit = options.limit ?? DEFAULT_RETENTION.logs;
    this.clock = options.clock ?? systemClock;
  }

  /** Estimated bytes held. */
  get bytes(): number {
    return this.total;
  }

  /** Follows the engine: call with every batch, in order, after the message log has seen it. */
  apply(events: readonly EngineEvent[]): void {
    const add = this.addEntry;
    for (const e of events) {
      eachLogEntry(e, add);
      if (isMessageEnd(e)) this.infos.delete(e.messageId);
    }
  }

  private readonly addEntry: AddEntry = (id, time, state, error, next) =>
    this.add(id, time, state, error, next);

  /** The entries matching `q`, newest first, at most `q.count`, after `q.cursor` when given. */
  query(q: LogQuery): LogPage {
    this.trim(this.clock.now());
    const events: LogEntry[] = [];
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const s = this.entries.peekAt(i);
      if (s === undefined || (q.cursor !== undefined && s.n >= q.cursor)) continue;
      if (!entryMatches(q, s, s.info)) continue;
      if (events.length === q.count) return { cursor: String(s.n + 1), events };
      events.push(shownEntry(s, s.info));
    }
    return { events };
  }

  private add(
    id: MessageId,
    time: Millis,
    state: LogState,
    error?: string,
    nextDeliveryTime?: Millis,
  ): void {
    let info = this.infos.get(id);
    if (info === undefined) {
      info = this.infoOf(id);
      this.infos.set(id, info);
      this.total += info.bytes;
    }
    info.refs++;
    const s = new Stored(this.next++, time, state, id, info, error, nextDeliveryTime);
    this.entries.push(s);
    this.total += s.bytes;
    this.trim(Math.max(time, this.clock.now()));
  }

  private infoOf(id: MessageId): Info {
    const m = this.messages.get(id);
    const body = logBody(m?.payload.body, m?.payload.redact, this.limit.maxBodyBytes);
    const info: Info = { ...logDetails(m, body), refs: 0, bytes: 0 };
    info.bytes =
      LOG_INFO_BYTES +
      stringBytes(info.url) +
      (info.header !== undefined ? headerBytes(info.header) : 0) +
      (body instanceof Uint8Array ? bodyBytes(body) : 0) +
      stringBytes(info.label) +
      stringBytes(info.flowControlKey) +
      stringBytes(info.topicName);
    return info;
  }

  /** Forgets the oldest entries while over the budget or older than the age limit at `now`. */
  private trim(now: number): void {
    const oldest = this.limit.maxAgeMs === null ? -Infinity : now - this.limit.maxAgeMs;
    for (;;) {
      const s = this.entries.peekFront();
      if (s === undefined || (this.total <= this.limit.maxBytes && s.time >= oldest)) return;
      this.entries.shift();
      this.total -= s.bytes;
      if (--s.info.refs === 0) {
        this.total -= s.info.bytes;
        if (this.infos.get(s.messageId) === s.info) this.infos.delete(s.messageId);
      }
    }
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
