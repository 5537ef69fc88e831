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
  /** The events as JSON: the reader usually parses the same from the stream first. */
  eventsJson: Buffer;
  starts: GrantedStart[];
  /** Why the command was refused ('' when it was not). */
  error: string;
}

export interface BatchReply {
  /** The id of the batch's stream entry ('' when no command had events). */
  entry: string;
  commands: CommandReply[];
}

export function parseEvents(json: Buffer): EngineEvent[] {
  return json.length === 0 ? [] : (JSON.parse(json.toString('utf8')) as EngineEvent[]);
}

const text = (b: unknown): string => (Buffer.isBuffer(b) ? b.toString('utf8') : String(b));

function parseStarts(flat: Array<Buffer | null>): GrantedStart[] {
  const starts: GrantedStart[] = [];
  for (let i = 0; i + 5 < flat.length; i += 6) {
    const p = flat[i + 4] ?? null;
    starts.push({
      id: text(flat[i]) as MessageId,
      key: text(flat[i + 1]) as KeyId,
      attempt: Number(text(flat[i + 2])),
      lease: text(flat[i + 3]),
      payload: p === null ? undefined : decodePayload(p, flat[i + 5] ?? null),
    });
  }
  return starts;
}

/** Parses batch.lua's reply. */
export function parseBatchReply(reply: unknown): BatchReply {
  const [entry, ...commands] = reply as [Buffer, ...Array<[Buffer, Array<Buffer | null>, Buffer]>];
  return {
    entry: entry.toString(),
    commands: commands.map(([json, starts, error]) => ({
      eventsJson: json,
      starts: parseStarts(starts),
      error: error.toString(),
    })),
  };
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
