/**
 * What crosses between the store and its scripts: payloads (JSON plus the body's bytes, never
 * base64), events (positional, by the schema below), command replies (starts) and read replies.
 */
import type { EngineEvent, EngineEventType, WaitReason } from '../../../shared/events';
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
import { MsgpackReader } from './msgpack';

const NO_BYTES = Buffer.alloc(0);

/** A payload as stored: everything but the body as JSON (`p`), the body as bytes (`b`). */
export interface EncodedPayload {
  json: string;
  body: Buffer | null;
}

/**
 * Encodings made with `share` (the message log's, just before the flow store takes the same
 * payload), for the next `encodePayload` of that payload object: a payload is never changed once
 * published. Taken out when used, so a waiting message keeps no second copy of its JSON.
 */
const shared = new WeakMap<MessagePayload, EncodedPayload>();

/**
 * A payload as stored. With `share`, the encoding is kept for the next call with the same payload
 * (which takes it instead of encoding again); without, a kept one is taken.
 */
export function encodePayload(payload: MessagePayload, share = false): EncodedPayload {
  const kept = shared.get(payload);
  if (kept !== undefined) {
    shared.delete(payload);
    return kept;
  }
  const { body, ...rest } = payload;
  const encoded = {
    json: JSON.stringify(rest),
    body: body === undefined ? null : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
  };
  if (share) shared.set(payload, encoded);
  return encoded;
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

// ── events ───────────────────────────────────────────────────────────────────────────────────

/** An event's own fields: all but type, seq, at and key. */
type OwnField<T extends EngineEventType> = Exclude<
  keyof Extract<EngineEvent, { type: T }>,
  'type' | 'seq' | 'at' | 'key'
> &
  string;

/**
 * A field in an event's positional form: `name`, always there; `name?`, absent from the event
 * when the script gives false (it gives false for nil); `name|null`, null when the script gives
 * nil.
 */
type FieldSpec<T extends EngineEventType> = OwnField<T> | `${OwnField<T>}?` | `${OwnField<T>}|null`;

/**
 * The scripts write every event as a type code, its key and its own fields in this order, one
 * value after another: no map, no field names (cheaper for Lua to build and pack, and for the
 * store to read). The one source of both sides: scripts.ts makes a Lua function per type from it
 * (`emitTokenAcquired(key, messageId, attempt, …)`), `decodeEvents` reads by it. Codes and orders
 * are the stream's format (servers of several versions share a stream): change them only with a
 * new field name for the stream entry's events (`v` now).
 */
export const EVENT_SCHEMA: {
  readonly [T in EngineEventType]: { code: number; fields: readonly FieldSpec<T>[] };
} = {
  'message:accepted': { code: 1, fields: ['messageId', 'notBefore?', 'workflow?'] },
  'message:waitlisted': { code: 2, fields: ['messageId', 'reason', 'position'] },
  'token:acquired': {
    code: 3,
    fields: ['messageId', 'attempt', 'inFlight', 'rateCount?', 'ratePeriodStart?', 'waitedMs'],
  },
  'token:handed-off': {
    code: 4,
    fields: ['from', 'to', 'attempt', 'waitedMs', 'rateCount?', 'ratePeriodStart?'],
  },
  'token:released': { code: 5, fields: ['messageId', 'inFlight'] },
  'delivery:succeeded': { code: 6, fields: ['messageId', 'attempt', 'status?', 'durationMs'] },
  'delivery:failed': {
    code: 7,
    fields: ['messageId', 'attempt', 'status?', 'error?', 'durationMs', 'retryAt|null'],
  },
  'message:delivered': { code: 8, fields: ['messageId'] },
  'message:dead-lettered': { code: 9, fields: ['messageId', 'reason'] },
  'message:cancelled': { code: 10, fields: ['messageId'] },
  'key:configured': {
    code: 11,
    fields: [
      'source',
      'parallelism|null',
      'rate|null',
      'periodMs',
      'pinnedParallelism',
      'pinnedRate',
      'ratePeriodStart',
      'rateCount',
    ],
  },
  'key:paused': { code: 12, fields: [] },
  'key:resumed': { code: 13, fields: [] },
  'key:rate-reset': { code: 14, fields: ['ratePeriodStart'] },
  'key:forgotten': { code: 15, fields: [] },
  'lease:expired': { code: 16, fields: ['messageId'] },
  'global:configured': { code: 17, fields: ['parallelism|null'] },
};

/** A field spec's name and whether it is left out when false. */
export function eventField(spec: string): { name: string; optional: boolean; nullable: boolean } {
  if (spec.endsWith('?')) return { name: spec.slice(0, -1), optional: true, nullable: false };
  if (spec.endsWith('|null')) return { name: spec.slice(0, -5), optional: false, nullable: true };
  return { name: spec, optional: false, nullable: false };
}

/** Reads one event's fields after its code from `r`: the event as one object, built by code
 * made for its type (a literal up to its first optional field, then each field in turn), so every
 * event of a type has one shape, in schema order. */
type EventDecoder = (r: MsgpackReader, seq: number, at: Millis) => EngineEvent;

function eventDecoder(type: EngineEventType, fields: readonly string[]): EventDecoder {
  const parsed = fields.map(eventField);
  const reads = parsed.map((_, i) => `const v${i} = r.read();`);
  const firstOptional = parsed.findIndex((f) => f.optional);
  const inLiteral = firstOptional < 0 ? parsed.length : firstOptional;
  const literal = parsed
    .slice(0, inLiteral)
    .map((f, i) => `${JSON.stringify(f.name)}: v${i}`)
    .join(', ');
  const after = parsed.slice(inLiteral).map((f, j) => {
    const i = inLiteral + j;
    const set = `e[${JSON.stringify(f.name)}] = v${i};`;
    return f.optional ? `if (v${i} !== false) ${set}` : set;
  });
  const body = [
    'const key = r.read();',
    ...reads,
    `const e = { type: ${JSON.stringify(type)}, seq, at, key${literal === '' ? '' : ', ' + literal} };`,
    ...after,
    'return e;',
  ].join('\n');
  return new Function('r', 'seq', 'at', body) as EventDecoder;
}

/** By code. */
const DECODERS: Array<EventDecoder | undefined> = [];
for (const [type, { code, fields }] of Object.entries(EVENT_SCHEMA)) {
  DECODERS[code] = eventDecoder(type as EngineEventType, fields);
}

/** One command's events, by its number on the server that ran it. */
export interface CommandEvents {
  no: number;
  events: EngineEvent[];
}

/**
 * Decodes a batch's events as batch.lua writes them (a stream entry's `v`): one msgpack array,
 * per command with events its number, how many, the seq of the first (the others follow it),
 * its instant, then its events, each its code, key and fields (EVENT_SCHEMA).
 */
export function decodeEvents(packed: Buffer): CommandEvents[] {
  const r = new MsgpackReader(packed);
  r.arrayLength();
  const out: CommandEvents[] = [];
  while (!r.done) {
    const no = r.read() as number;
    const n = r.read() as number;
    let seq = r.read() as number;
    const at = r.read() as Millis;
    const events = new Array<EngineEvent>(n);
    for (let i = 0; i < n; i++) {
      const code = r.read() as number;
      const d = DECODERS[code];
      if (d === undefined) throw new RangeError(`unknown event code ${String(code)}`);
      events[i] = d(r, seq++, at);
    }
    out.push({ no, events });
  }
  return out;
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
  /** How many events it had (they are in the batch's `events`). */
  events: number;
  starts: GrantedStart[];
  /** Why the command was refused ('' when it was not). */
  error: string;
}

export interface BatchReply {
  /** The id of the batch's stream entry ('' when no command had events). */
  entry: string;
  /** The entry's events (decodeEvents; empty when none): the reader usually decodes them first. */
  events: Buffer;
  commands: CommandReply[];
}

/**
 * Parses batch.lua's reply: one msgpack array (one string for Redis to send and the store to
 * read, rather than a reply of a hundred parts): the stream entry's id and events, then per
 * command its error, how many events it had, how many starts, and six values per start.
 */
export function parseBatchReply(reply: unknown): BatchReply {
  if (!Buffer.isBuffer(reply)) throw new TypeError('the batch answered something other than bytes');
  const r = new MsgpackReader(reply);
  r.arrayLength();
  const entry = String(r.read());
  const events = r.bytes() ?? NO_BYTES;
  const commands: CommandReply[] = [];
  while (!r.done) {
    const error = String(r.read());
    const count = r.read() as number;
    const n = r.read() as number;
    const starts: GrantedStart[] = [];
    // Six per start: id, key, attempt, lease number, payload JSON (false when the caller has it),
    // body (false when absent).
    for (let i = 0; i < n; i++) {
      const id = String(r.read()) as MessageId;
      const key = String(r.read()) as KeyId;
      const attempt = r.read() as number;
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
    commands.push({ events: count, starts, error });
  }
  return { entry, events, commands };
}

const text = (b: unknown): string => (Buffer.isBuffer(b) ? b.toString('utf8') : String(b));

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
