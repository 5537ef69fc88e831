/**
 * QStash's logs (`GET /v2/events`) in Redis: every entry of every message, whichever server took
 * it in, shared by every server on one prefix and kept across restarts (this process's are
 * server/flow/delivery-logs.ts, whose rules this follows and whose matching and shaping it uses).
 *
 * The event stream's entries are added by `delivery-logs.lua`, through the stream follower
 * (stream-follower.ts: one server applies each batch, before the message log's part in the same
 * call): `lgs`'s seq says how far the logs have followed, and entries of events at or before it
 * are skipped, so each is added once. A message's details (URL, headers, body, label…)
 * are copied from its message log document (server/store/redis/messages.ts) by its first entry and
 * shared by all its entries. A server starting again first catches up from the stream.
 *
 *   lg        stream  the entries, oldest first, id `<n>-1` (n: the entry's number, the cursor);
 *                     fields t (time), s (state, one letter), m (message id), x (the error of ERROR
 *                     and FAILED, the next delivery time of RETRY, else '')
 *   lgc       hash    message id → how many entries point to its details
 *   lgd       hash    message id → 'd' (or 'r' when its body is shown as REDACTED), then its
 *                     document as the message log had it at its first entry (JSON; '' if none)
 *   lgb       hash    message id → its body, when at most `maxBodyBytes` and not redacted
 *   lgs       hash    seq: the last event seq applied, n: the next entry's number, bytes: the
 *                     bytes counted
 *
 * A message's details are fields of three hashes rather than a hash of their own: a document is
 * longer than a small hash's values, which would make each message's hash a `hashtable` (about
 * 370 bytes besides its strings, against about 260 here).
 *
 * Bytes (`--logs-bytes`) are what Redis holds, estimated as `MEMORY USAGE` reports it: per entry
 * its message id and detail plus 32 (the rest of its place in the stream), per message its
 * document and kept body plus 261 (its fields in the three hashes). Measured with 24-character
 * ids, 200-byte documents and 100-byte bodies: 56.5 bytes an entry (counted 56), 564 a message's
 * details (counted 561).
 *
 * Entries are added in the order the events are, so the newest come first in a page as they do in
 * memory. A message's details are copied before the message log applies the batch of its first
 * entry, so its body is shown even when that batch also ends it (several batches are applied
 * together when they come faster than they are applied); the memory logs read a message after the
 * message log applied the batch, and each of their batches is one command's events, which never
 * takes a message in and ends it.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { connectRedis } from './connection';
import type { EngineEvent } from '../../../shared/events';
import type { MessageId, Millis } from '../../../shared/engine/units';
import { REDACTED } from '../../../shared/protocol/redact';
import {
  eachLogEntry,
  type AddEntry,
  entryMatches,
  logDetails,
  shownEntry,
  type LogDetails,
  type LogEntry,
  type LogPage,
  type LogQuery,
  type LogRecord,
  type LogSource,
  type LogState,
  type SharedLogs,
} from '../../flow/delivery-logs';
import { DEFAULT_RETENTION, type RetentionOptions } from '../../flow/retention';
import { keyspace } from './keys';
import { StreamFollower } from './stream-follower';

const APPLY = readFileSync(new URL('./delivery-logs.lua', import.meta.url), 'utf8');

type WithScripts = Redis & {
  logsApply(prefix: string, ...args: string[]): Promise<[number, number]>;
};

/** A state as the stream keeps it. */
const CODE: Record<LogState, string> = {
  CREATED: 'C',
  ACTIVE: 'A',
  ERROR: 'E',
  RETRY: 'R',
  DELIVERED: 'D',
  FAILED: 'F',
  CANCELED: 'X',
  IN_PROGRESS: 'P',
};
const STATE = Object.fromEntries(Object.entries(CODE).map(([s, c]) => [c, s])) as Record<
  string,
  LogState
>;

/** The script's entries for a batch, as JSON (see delivery-logs.lua). */
function entriesOf(events: readonly EngineEvent[]): string {
  const entries: Array<[number, string, string, string, string]> = [];
  let seq = 0;
  const add: AddEntry = (id, time, state, error, next) =>
    entries.push([
      seq,
      CODE[state],
      id,
      String(time),
      error ?? (next !== undefined ? String(next) : ''),
    ]);
  for (const e of events) {
    seq = e.seq;
    eachLogEntry(e, add);
  }
  return JSON.stringify(entries);
}

/** A limit as the script reads it: a whole number (Lua reads `Infinity` its own way). */
const whole = (n: number): string =>
  String(Number.isFinite(n) ? Math.floor(n) : Number.MAX_SAFE_INTEGER);

/** What a query keeps of a message's details, its body fetched only for entries it shows. */
interface Known {
  id: string;
  details: LogDetails;
  /** A body may be kept in Redis, not fetched yet. */
  bodyPending: boolean;
}

export interface RedisDeliveryLogsOptions {
  url: string;
  prefix: string;
  /** Bytes (as counted above) and age kept, and the largest body shown. */
  limit?: RetentionOptions['logs'];
  /** For ages; the system's by default. */
  now?: () => number;
  warn: (msg: string, err?: unknown) => void;
  /**
   * Follows the event stream with the message log, before it (deployment.ts); a follower of its
   * own when absent.
   */
  follower?: StreamFollower;
}

export class RedisDeliveryLogs implements SharedLogs {
  private readonly redis: WithScripts;
  private readonly space: string;
  private readonly limit: RetentionOptions['logs'];
  private readonly limits: string[];
  private readonly now: () => number;
  /** Applies every batch of events (with the message log, when they share it). */
  private readonly follower: StreamFollower;
  private readonly leave: () => Promise<void>;

  constructor(private readonly options: RedisDeliveryLogsOptions) {
    this.space = keyspace(options.prefix);
    const redis = connectRedis(options.url);
    redis.defineCommand('logsApply', { numberOfKeys: 1, lua: APPLY });
    this.redis = redis as WithScripts;
    this.limit = options.limit ?? DEFAULT_RETENTION.logs;
    this.limits = [
      whole(this.limit.maxBytes),
      this.limit.maxAgeMs === null ? '-1' : whole(this.limit.maxAgeMs),
      whole(this.limit.maxBodyBytes),
    ];
    this.now = options.now ?? Date.now;
    this.follower =
      options.follower ??
      new StreamFollower({
        url: options.url,
        prefix: options.prefix,
        what: 'logs',
        warn: options.warn,
      });
    this.leave = this.follower.join({
      tag: 'lg',
      order: 0,
      lua: APPLY,
      mark: "tonumber(redis.call('HGET', P .. 'lgs', 'seq') or '0')",
      args: (events) => [
        String(events[0]!.seq),
        String(events[events.length - 1]!.seq),
        String(this.now()),
        ...this.limits,
        entriesOf(events),
      ],
      replied: (reply, events) => {
        if (reply[1] === 1)
          this.options.warn(
            `logs: events before seq ${events[0]!.seq} were never applied (the event stream was trimmed past them)`,
          );
      },
    });
  }

  /**
   * Catches up with the event stream (what was written while no server followed it), then
   * follows what `apply` is given. Call once, after `apply` is wired to the events.
   */
  start(): void {
    this.follower.start();
  }

  /** Follows the store: call with every batch of events, in order. */
  apply(events: readonly EngineEvent[]): void {
    this.follower.apply(events);
  }

  /** Resolves once every batch given so far has been applied (tests, shutdown). */
  settled(): Promise<void> {
    return this.follower.settled();
  }

  /** The entries matching `q`, newest first, at most `q.count`, after `q.cursor` when given. */
  async query(q: LogQuery): Promise<LogPage> {
    // Forgets what has grown too old since the last batch, as the memory logs do when read.
    if (this.limit.maxAgeMs !== null)
      await this.redis.logsApply(this.space, '', '', String(this.now()), ...this.limits);
    const events: LogEntry[] = [];
    if (q.cursor !== undefined && q.cursor <= 0) return { events };
    const known = new Map<string, Known | null>();
    const stream = `${this.space}lg`;
    let end = q.cursor === undefined ? '+' : `(${q.cursor}-0`;
    // Enough for a page when every entry matches; more at a time when filters skip some.
    let size = Math.min(q.count + 1, 1000);
    for (;;) {
      const chunk = await this.redis.xrevrange(stream, end, '-', 'COUNT', size);
      if (chunk.length === 0) return { events };
      await this.learn(chunk, known);
      const shown: Array<{ s: LogRecord; k: Known }> = [];
      let cursor: string | undefined;
      for (const [id, f] of chunk) {
        const k = known.get(f[5]!);
        // Gone: forgotten since the range was read, with every entry of its message.
        if (k === undefined || k === null) continue;
        const s = recordOf(f);
        if (!entryMatches(q, s, k.details)) continue;
        if (events.length + shown.length === q.count) {
          cursor = String(Number(id.slice(0, id.indexOf('-'))) + 1);
          break;
        }
        shown.push({ s, k });
      }
      await this.fetchBodies(shown.map((x) => x.k));
      for (const { s, k } of shown) events.push(shownEntry(s, k.details));
      if (cursor !== undefined) return { cursor, events };
      if (chunk.length < size) return { events };
      end = `(${chunk[chunk.length - 1]![0]}`;
      size = 1000;
    }
  }

  /** Reads the details of the messages of `chunk` not known yet (without their bodies). */
  private async learn(chunk: Array<[string, string[]]>, known: Map<string, Known | null>) {
    const ids: string[] = [];
    for (const [, f] of chunk) {
      const id = f[5]!;
      if (!known.has(id)) {
        known.set(id, null);
        ids.push(id);
      }
    }
    if (ids.length === 0) return;
    const docs = await this.redis.hmget(`${this.space}lgd`, ...ids);
    ids.forEach((id, i) => {
      const d = docs[i];
      if (d === null || d === undefined) return;
      const json = d.slice(1);
      const redacted = d.startsWith('r');
      known.set(id, {
        id,
        details: logDetails(
          json === '' ? undefined : sourceOf(json),
          redacted ? REDACTED : undefined,
        ),
        bodyPending: !redacted,
      });
    });
  }

  /** Fetches the kept bodies of the messages about to be shown. */
  private async fetchBodies(list: Known[]): Promise<void> {
    const pending = [...new Set(list.filter((k) => k.bodyPending))];
    if (pending.length === 0) return;
    const bodies = await this.redis.hmgetBuffer(`${this.space}lgb`, ...pending.map((k) => k.id));
    pending.forEach((k, i) => {
      const body = bodies[i];
      k.bodyPending = false;
      if (body !== null && body !== undefined) k.details.body = new Uint8Array(body);
    });
  }

  async close(): Promise<void> {
    await this.leave();
    await this.redis.quit();
  }
}

/** An entry as the stream keeps it (fields t, s, m, x). */
function recordOf(f: string[]): LogRecord {
  const state = STATE[f[3]!] ?? 'CREATED';
  const x = f[7] ?? '';
  return {
    time: Number(f[1]) as Millis,
    state,
    messageId: f[5]! as MessageId,
    error: state === 'ERROR' || state === 'FAILED' ? x : undefined,
    nextDeliveryTime: state === 'RETRY' ? (Number(x) as Millis) : undefined,
  };
}

/**
 * The message as its document has it. The message log's script writes documents with Lua's cjson,
 * which turns an empty list into `{}`: redacted header names are read back as a list.
 */
function sourceOf(json: string): LogSource {
  const doc = JSON.parse(json) as LogSource;
  const r = doc.payload.redact as { body?: unknown; headers?: unknown } | undefined;
  if (r !== undefined && r !== null) {
    doc.payload = {
      ...doc.payload,
      redact: {
        body: r.body === true,
        headers:
          r.headers === true ? true : Array.isArray(r.headers) ? (r.headers as string[]) : [],
      },
    };
  }
  return doc;
}
