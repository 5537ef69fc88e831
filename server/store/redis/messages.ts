/**
 * The message log in Redis: what `GET /v2/messages/{id}` and the dead-letter list answer, shared
 * by every server on one prefix and kept across restarts (the memory store's is
 * server/flow/message-log.ts, whose rules this follows).
 *
 * The server a message is published to writes its document before the flow store takes it
 * (so no event can name a message the log does not have). The event stream is applied by
 * `messages.lua`, through the stream follower (stream-follower.ts: one server applies each batch,
 * after the logs' part in the same call): `mlseq` says how far the log has followed, and whatever
 * is at or before it is skipped, so each event is applied once. A server starting again first
 * catches up from the stream (events written while every server was down).
 *
 *   ml:<id>   hash    d: the document as accepted (JSON, no body), s: its state since (JSON:
 *                     status, attempts, nextAt, endedAt, reason, dlqId; the events change only
 *                     this), b: the body, hb/db: bytes counted in the history / the dead-letter
 *                     list, cb: its callbacks until one server takes them to publish
 *                     (callbacks.ts)
 *   mll       zset    messages that have not ended, in the order they were taken in (by `mlc`)
 *   mlh       zset    ended messages (the history), by end;  mlhb: its bytes
 *   mld       zset    dead letters, by end;  mldi: dlq id → message id;  mldb: their bytes
 *   mlseq     string  the last event seq applied
 *
 * Bytes are what Redis stores (the document's and the state's JSON, and the body), bounded like
 * the memory log's.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { connectRedis } from './connection';
import type { EngineEvent } from '../../../shared/events';
import type { KeyId, MessageId, Millis } from '../../../shared/engine/units';
import type { CallbackSpec } from '../../flow/callbacks';
import type { LoggedMessage, SharedMessageLog } from '../../flow/message-log';
import { DEFAULT_RETENTION, type RetentionLimit } from '../../flow/retention';
import type { MessagePayload } from '../../flow/types';
import { decodePayload, encodePayload } from './codec';
import { keyspace } from './keys';
import { StreamFollower } from './stream-follower';

/** A dead letter leaves the list; still in the history, it stays there without its body. */
const LEAVE_DEAD_LETTERS = `
local function leaveDeadLetters(P, id, dlqId)
  redis.call('ZREM', P .. 'mld', id)
  redis.call('HDEL', P .. 'mldi', dlqId)
  local key = P .. 'ml:' .. id
  redis.call('DECRBY', P .. 'mldb', tonumber(redis.call('HGET', key, 'db') or '0'))
  if redis.call('ZSCORE', P .. 'mlh', id) then
    redis.call('HDEL', key, 'b', 'db')
  else
    redis.call('DEL', key)
  end
end
`;

const APPLY = readFileSync(new URL('./messages.lua', import.meta.url), 'utf8');

const REMOVE_DEAD_LETTER = `${LEAVE_DEAD_LETTERS}
local id = redis.call('HGET', KEYS[1] .. 'mldi', ARGV[1])
if not id then return 0 end
leaveDeadLetters(KEYS[1], id, ARGV[1])
return 1`;

/**
 * KEYS: the prefix. ARGV: per message, 5 values: id, document, callbacks ('' when none), '1' when
 * a body follows (else '0'), the body (else ''). Messages written together, in the order given
 * (the publishes of one tick: a `POST /v2/batch`); the live set is in the order messages were
 * taken in, across servers.
 */
const ACCEPTED = `
local P = KEYS[1]
for i = 1, #ARGV, 5 do
  local key = P .. 'ml:' .. ARGV[i]
  local fields = { 'd', ARGV[i + 1], 's', '{"status":"waiting"}' }
  if ARGV[i + 2] ~= '' then
    fields[#fields + 1] = 'cb'
    fields[#fields + 1] = ARGV[i + 2]
  end
  if ARGV[i + 3] == '1' then
    fields[#fields + 1] = 'b'
    fields[#fields + 1] = ARGV[i + 4]
  end
  redis.call('HSET', key, unpack(fields))
  redis.call('ZADD', P .. 'mll', redis.call('INCR', P .. 'mlc'), ARGV[i])
end
return 1`;

/**
 * KEYS: the prefix. ARGV[1]: message ids, each followed by a newline (one argument: far cheaper
 * than one each). Per message, its callbacks and its document, once (the field is taken), or false.
 */
const TAKE_CALLBACKS = `
local out = {}
for id in string.gmatch(ARGV[1], '([^\\n]+)\\n') do
  local key = KEYS[1] .. 'ml:' .. id
  local cb = redis.call('HGET', key, 'cb')
  if cb then
    redis.call('HDEL', key, 'cb')
    out[#out + 1] = { cb, redis.call('HGET', key, 'd') or '{}' }
  else
    out[#out + 1] = false
  end
end
return out`;

type WithScripts = Redis & {
  messagesAccepted(prefix: string, ...args: Array<string | Buffer>): Promise<number>;
  messagesTakeCallbacks(prefix: string, ids: string): Promise<Array<[string, string] | null>>;
  messagesRemoveDeadLetter(prefix: string, dlqId: string): Promise<number>;
};

/** The document as stored: a `LoggedMessage` without its body and handle. */
interface Doc {
  messageId: MessageId;
  flowControlKey: KeyId | null;
  payload: Omit<MessagePayload, 'body'>;
  createdAt: Millis;
  status: LoggedMessage['status'];
  attempts?: LoggedMessage['attempts'];
  nextAt?: Millis;
  endedAt?: Millis;
  reason?: string;
  label?: string;
  urlGroup?: string;
  dlqId?: string;
}

/** What `messages.lua` keeps apart from the document, in `s`. */
const STATE_FIELDS = ['status', 'attempts', 'nextAt', 'endedAt', 'reason', 'dlqId'] as const;

type Op = [number, string, string, number, ...unknown[]];

/**
 * The ops of `messages.lua` for the events the log follows (see MessageLog.apply). A message taken
 * in by the same events without a delay is waiting as its document was written: its `waitlisted`
 * (which comes with its acceptance when its key is busy) changes nothing, and is left out, so the
 * script does not read and write its state for nothing.
 */
function opsOf(events: readonly EngineEvent[]): Op[] {
  const ops: Op[] = [];
  // Taken in by these events, waiting, and nothing else happened to them since.
  const fresh = new Set<string>();
  for (const e of events) {
    switch (e.type) {
      case 'message:accepted':
        if (e.notBefore !== undefined) ops.push([e.seq, 's', e.messageId, e.at, e.notBefore]);
        else fresh.add(e.messageId);
        break;
      case 'message:waitlisted':
        if (!fresh.has(e.messageId)) ops.push([e.seq, 'w', e.messageId, e.at]);
        break;
      case 'token:acquired':
        ops.push([e.seq, 'f', e.messageId, e.at, e.attempt]);
        break;
      case 'token:handed-off':
        ops.push([e.seq, 'f', e.to, e.at, e.attempt]);
        break;
      case 'delivery:succeeded':
        ops.push([e.seq, 'e', e.messageId, e.at, e.status ?? false, false, false]);
        break;
      case 'delivery:failed':
        ops.push([
          e.seq,
          'e',
          e.messageId,
          e.at,
          e.status ?? false,
          e.error ?? false,
          e.retryAt ?? false,
        ]);
        break;
      case 'message:delivered':
        ops.push([e.seq, 'd', e.messageId, e.at]);
        break;
      case 'message:cancelled':
        ops.push([e.seq, 'c', e.messageId, e.at]);
        break;
      case 'message:dead-lettered':
        ops.push([e.seq, 'x', e.messageId, e.at, e.reason]);
        break;
      default:
        break;
    }
    if (e.type !== 'message:accepted' && e.type !== 'message:waitlisted' && fresh.size > 0) {
      if ('messageId' in e) fresh.delete(e.messageId);
      if (e.type === 'token:handed-off') fresh.delete(e.to);
    }
  }
  return ops;
}

export interface RedisMessagesOptions {
  url: string;
  prefix: string;
  history?: RetentionLimit;
  keepBodies?: boolean;
  deadLetters?: RetentionLimit;
  /** For ages; the system's by default. */
  now?: () => number;
  /** Told of each dead letter forgotten to stay within `deadLetters`. */
  onDeadLetterDropped?: (m: { messageId: string; dlqId: string }, why: 'bytes' | 'age') => void;
  warn: (msg: string, err?: unknown) => void;
  /**
   * Follows the event stream with the logs (deployment.ts); a follower of its own when absent
   * (the log alone, as in its tests).
   */
  follower?: StreamFollower;
}

export class RedisMessages implements SharedMessageLog {
  private readonly redis: WithScripts;
  private readonly space: string;
  private readonly limits: string[];
  private readonly now: () => number;
  /** Applies every batch of events (with the logs, when they share it). */
  private readonly follower: StreamFollower;
  private readonly leave: () => Promise<void>;
  /** The arguments of the documents to write in this tick's call, and that call. */
  private accepting: Array<string | Buffer> = [];
  private written: Promise<void> | null = null;

  constructor(private readonly options: RedisMessagesOptions) {
    this.space = keyspace(options.prefix);
    const redis = connectRedis(options.url);
    redis.defineCommand('messagesAccepted', { numberOfKeys: 1, lua: ACCEPTED });
    redis.defineCommand('messagesTakeCallbacks', { numberOfKeys: 1, lua: TAKE_CALLBACKS });
    redis.defineCommand('messagesRemoveDeadLetter', { numberOfKeys: 1, lua: REMOVE_DEAD_LETTER });
    this.redis = redis as WithScripts;
    const history = options.history ?? DEFAULT_RETENTION.history;
    const dead = options.deadLetters ?? DEFAULT_RETENTION.deadLetters;
    this.limits = [
      (options.keepBodies ?? DEFAULT_RETENTION.keepBodies) ? '1' : '0',
      String(history.maxBytes),
      String(history.maxAgeMs ?? -1),
      String(dead.maxBytes),
      String(dead.maxAgeMs ?? -1),
    ];
    this.now = options.now ?? Date.now;
    this.follower =
      options.follower ??
      new StreamFollower({
        url: options.url,
        prefix: options.prefix,
        what: 'message log',
        warn: options.warn,
      });
    this.leave = this.follower.join({
      tag: 'ml',
      // After the logs, which copy a message's body before its end drops it.
      order: 1,
      prelude: LEAVE_DEAD_LETTERS,
      lua: APPLY,
      mark: "tonumber(redis.call('GET', P .. 'mlseq') or '0')",
      args: (events) => [
        String(events[0]!.seq),
        String(events[events.length - 1]!.seq),
        JSON.stringify(opsOf(events)),
        ...this.limits,
        String(this.now()),
      ],
      replied: (reply, events) => this.replied(reply, events[0]!.seq),
    });
  }

  private key(id: string): string {
    return `${this.space}ml:${id}`;
  }

  /**
   * Catches up with the event stream (what was written while no server followed it), then
   * follows what `apply` is given. Call once, after `apply` is wired to the events.
   */
  start(): void {
    this.follower.start();
  }

  /** Writes a message's document before the flow store takes it. */
  async accepted(
    id: MessageId,
    key: KeyId | null,
    payload: MessagePayload,
    at: Millis,
    label?: string,
    urlGroup?: string,
    callbacks?: CallbackSpec,
  ): Promise<void> {
    // Shared with the flow store, which takes the same payload next (RedisStore.accept).
    const { json, body } = encodePayload(payload, true);
    // The document as JSON.stringify would write a `Doc` (the payload's JSON is already one).
    const doc =
      `{"messageId":${JSON.stringify(id)},"flowControlKey":${JSON.stringify(key)},` +
      `"payload":${json},"createdAt":${JSON.stringify(at)},"status":"waiting"` +
      (label !== undefined ? `,"label":${JSON.stringify(label)}` : '') +
      (urlGroup !== undefined ? `,"urlGroup":${JSON.stringify(urlGroup)}` : '') +
      '}';
    const args = this.accepting;
    args.push(
      id,
      doc,
      callbacks === undefined ? '' : JSON.stringify(callbacks),
      body === null ? '0' : '1',
      body ?? '',
    );
    if (this.written === null) {
      // The publishes of this tick (a batch's items) are written together, in one call.
      this.written = new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => {
        this.accepting = [];
        this.written = null;
        return this.redis.messagesAccepted(this.space, ...args).then(() => {});
      });
    }
    await this.written;
  }

  async takeCallbacks(
    ids: readonly MessageId[],
  ): Promise<Array<{ spec: CallbackSpec; createdAt: Millis } | undefined>> {
    if (ids.length === 0) return [];
    const taken = await this.redis.messagesTakeCallbacks(this.space, `${ids.join('\n')}\n`);
    return ids.map((_, i) => {
      const t = taken[i];
      if (t === null || t === undefined) return undefined;
      const doc = JSON.parse(t[1]) as Partial<Doc>;
      return { spec: JSON.parse(t[0]) as CallbackSpec, createdAt: doc.createdAt ?? (0 as Millis) };
    });
  }

  /** Forgets a message the flow store refused after `accepted` wrote it. */
  async discard(id: MessageId): Promise<void> {
    await this.redis.multi().del(this.key(id)).zrem(`${this.space}mll`, id).exec();
  }

  /** Follows the store: call with every batch of events, in order. */
  apply(events: readonly EngineEvent[]): void {
    this.follower.apply(events);
  }

  /** What `messages.lua` answered a batch starting at `first`. */
  private replied(reply: unknown[], first: number): void {
    if (reply[1] === 1)
      this.options.warn(
        `message log: events before seq ${first} were never applied (the event stream was trimmed past them)`,
      );
    for (let i = 2; i + 2 < reply.length; i += 3) {
      this.options.onDeadLetterDropped?.(
        { messageId: String(reply[i]), dlqId: String(reply[i + 1]) },
        reply[i + 2] === 'bytes' ? 'bytes' : 'age',
      );
    }
  }

  /** Resolves once every batch given so far has been applied (tests, shutdown). */
  settled(): Promise<void> {
    return this.follower.settled();
  }

  async get(id: MessageId): Promise<LoggedMessage | undefined> {
    const [d, b, s] = await this.redis.hmgetBuffer(this.key(id), 'd', 'b', 's');
    return d === null || d === undefined ? undefined : this.read(d, b ?? null, s ?? null);
  }

  async pending(): Promise<LoggedMessage[]> {
    return this.readAll(await this.redis.zrange(`${this.space}mll`, 0, -1));
  }

  /** The dead letters, oldest first. */
  async deadLetters(): Promise<LoggedMessage[]> {
    const oldest = (this.options.deadLetters ?? DEFAULT_RETENTION.deadLetters).maxAgeMs;
    const ids = await this.redis.zrangebyscore(
      `${this.space}mld`,
      oldest === null ? '-inf' : this.now() - oldest,
      '+inf',
    );
    return this.readAll(ids);
  }

  async deadLetter(dlqId: string): Promise<LoggedMessage | undefined> {
    const id = await this.redis.hget(`${this.space}mldi`, dlqId);
    return id === null ? undefined : this.get(id as MessageId);
  }

  async removeDeadLetter(dlqId: string): Promise<boolean> {
    return (await this.redis.messagesRemoveDeadLetter(this.space, dlqId)) === 1;
  }

  async close(): Promise<void> {
    await this.leave();
    await this.redis.quit();
  }

  private async readAll(ids: string[]): Promise<LoggedMessage[]> {
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hmgetBuffer(this.key(id), 'd', 'b', 's');
    const replies = (await pipe.exec()) ?? [];
    const out: LoggedMessage[] = [];
    for (const [err, value] of replies) {
      if (err !== null) throw err;
      const [d, b, s] = value as [Buffer | null, Buffer | null, Buffer | null];
      if (d !== null) out.push(this.read(d, b, s));
    }
    return out;
  }

  private read(d: Buffer, b: Buffer | null, s: Buffer | null): LoggedMessage {
    const doc = JSON.parse(d.toString('utf8')) as Doc;
    if (s !== null) {
      // The state since it was accepted (a document of an earlier version holds it itself).
      for (const f of STATE_FIELDS) delete doc[f];
      Object.assign(doc, JSON.parse(s.toString('utf8')) as Partial<Doc>);
    }
    // messages.lua rewrites documents with Lua's cjson, which writes an empty list as {}.
    const redact = doc.payload.redact as { body: boolean; headers: unknown } | undefined;
    if (redact !== undefined && redact.headers !== true && !Array.isArray(redact.headers))
      doc.payload.redact = { body: redact.body, headers: [] };
    const payload = decodePayload(Buffer.from(JSON.stringify(doc.payload)), b);
    const ended = doc.endedAt !== undefined;
    return {
      messageId: doc.messageId,
      flowControlKey: doc.flowControlKey,
      payload,
      createdAt: doc.createdAt,
      status: doc.status,
      attempts: Array.isArray(doc.attempts) ? doc.attempts : [],
      ...(doc.nextAt !== undefined ? { nextAt: doc.nextAt } : {}),
      ...(doc.endedAt !== undefined ? { endedAt: doc.endedAt } : {}),
      ...(doc.reason !== undefined ? { reason: doc.reason } : {}),
      ...(doc.label !== undefined ? { label: doc.label } : {}),
      ...(doc.urlGroup !== undefined ? { urlGroup: doc.urlGroup } : {}),
      ...(doc.dlqId !== undefined ? { dlqId: doc.dlqId } : {}),
      // The Redis store cancels by id.
      ...(ended ? {} : { handle: { id: doc.messageId, data: undefined } }),
    };
  }
}
