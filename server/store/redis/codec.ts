/**
 * What crosses between the store and its scripts: payloads (JSON plus the body's bytes, never
 * base64), command replies (events and starts) and read replies.
 */
import type { EngineEvent, WaitReason } from '../../../shared/events';
import type {
  ActiveView,
  EngineStats,
  KeySnapshot,
  MessageState,
  MessageView,
  WaiterView,
} from '../../../shared/engine/types';
import type { KeyId, MessageId, Millis } from '../../../shared/engine/units';
import type { MessagePayload } from '../../flow/types';
import { MsgpackReader, unpack } from './msgpack';

const NO_BYTES = Buffer.alloc(0);

/** A payload as stored: everything but the body as JSON (`p`), the body as bytes (`b`). */
export function encodePayload(payload: MessagePayload): { json: string; body: Buffer | null } {
  const { body, ...rest } = payload;
  return {
    json: JSON.stringify(rest),
    body: body === undefined ? null : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
  };
}

export function decodePayload(json: Buffer, body: Buffer | null): MessagePayload {
  const p = JSON.parse(json.toString('utf8')) as Omit<MessagePayload, 'body'>;
  // The shape `parsePublish` gives every payload: absent fields present as undefined.
  return {
    destination: p.destination,
    method: p.method,
    headers: p.headers,
    // A copy: a view would keep the whole socket chunk it was read from alive.
    body: body === null ? undefined : new Uint8Array(body),
    timeoutMs: p.timeoutMs,
    retryDelay: p.retryDelay,
    redact: p.redact,
  };
}

/** A start a command granted to the calling server. */
export interface GrantedStart {
  id: MessageId;
  key: KeyId;
  attempt: number;
  /** The lease number: which start of the message this is (a finish names it). */
  lease: string;
  /** Undefined when the caller already has it (the message `accept` just took in). */
  payload: MessagePayload | undefined;
}

/** One command's part of a batch's reply. */
export interface CommandReply {
  /** The events, msgpack (empty when none): the reader usually decodes them from the stream first. */
  packedEvents: Buffer;
  starts: GrantedStart[];
  /** Why the command was refused ('' when it was not). */
  error: string;
}

export interface BatchReply {
  /** The id of the batch's stream entry ('' when no command had events). */
  entry: string;
  commands: CommandReply[];
}

/** A command's events as batch.lua packs them (msgpack; empty when none). */
export function parseEvents(packed: Buffer): EngineEvent[] {
  return packed.length === 0 ? [] : (unpack(packed) as EngineEvent[]);
}

const text = (b: unknown): string => (Buffer.isBuffer(b) ? b.toString('utf8') : String(b));

/** Parses batch.lua's reply: one msgpack array (see batch.lua). */
export function parseBatchReply(reply: unknown): BatchReply {
  if (!Buffer.isBuffer(reply)) throw new TypeError('the batch answered something other than bytes');
  const r = new MsgpackReader(reply);
  const n = r.arrayLength();
  const entry = String(r.read());
  const commands: CommandReply[] = [];
  for (let c = 1; c < n; c++) {
    r.arrayLength();
    const packedEvents = r.bytes() ?? NO_BYTES;
    const flat = r.arrayLength();
    const starts: GrantedStart[] = [];
    // Six per start: id, key, attempt, lease number, payload JSON, body (false when absent).
    for (let i = 0; i + 5 < flat; i += 6) {
      const id = String(r.read()) as MessageId;
      const key = String(r.read()) as KeyId;
      const attempt = Number(r.read());
      const lease = String(r.read());
      const p = r.bytes();
      const b = r.bytes();
      starts.push({
        id,
        key,
        attempt,
        lease,
        payload: p === null ? undefined : decodePayload(p, b),
      });
    }
    commands.push({ packedEvents, starts, error: String(r.read()) });
  }
  return { entry, commands };
}

/** What read.lua answers. */
export interface ReadReply {
  seq: number;
  at: Millis;
  max: number | null;
  inf: number;
  stats: EngineStats;
  keys: KeySnapshot[];
}

type RawKey = Omit<KeySnapshot, 'active' | 'waiting'> & {
  active: ActiveView[] | Record<string, never>;
  waiting: WaiterView[] | Record<string, never>;
};

/** Parses read.lua's JSON; cjson writes an empty list as `{}`, so lists are put right here. */
export function parseReadReply(reply: unknown): ReadReply {
  const raw = JSON.parse(text(reply)) as Omit<ReadReply, 'keys'> & {
    keys: RawKey[] | Record<string, never>;
  };
  const keys = Array.isArray(raw.keys) ? raw.keys : [];
  return {
    ...raw,
    keys: keys.map((k) => ({
      ...k,
      blockedBy: (k.blockedBy ?? null) as WaitReason | null,
      active: Array.isArray(k.active) ? k.active : [],
      waiting: Array.isArray(k.waiting) ? k.waiting : [],
    })),
  };
}

/** A message's view (views.ts, viewMessage) from read.lua; undefined once it has ended. */
export function messageView(id: MessageId, reply: unknown): MessageView | undefined {
  if (reply === null || reply === undefined) return undefined;
  const m = JSON.parse(text(reply)) as {
    key: KeyId;
    st: MessageState;
    att: number;
    max: number;
    ready: Millis;
    started: Millis;
  };
  const timed = m.st === 'scheduled' || m.st === 'retry-scheduled';
  return {
    id,
    key: m.key,
    state: m.st,
    attempt: m.att,
    maxRetries: m.max,
    readyAt: m.st === 'waiting' || m.st === 'in-flight' ? m.ready : null,
    startedAt: m.st === 'in-flight' ? m.started : null,
    dueAt: timed ? m.ready : null,
  };
}
