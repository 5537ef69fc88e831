/**
 * The one reader of a deployment's event stream that each store runs: every server's events, in
 * stream order, which is `seq` order (each script takes its seqs and appends its entry at once).
 *
 * It reads in two ways. While this server sends batches, a plain XREAD goes right behind each
 * batch on the command connection (`poll`): one write and one reply for both, and the entries
 * since the last read (this batch's, and any other server's meanwhile) come with the batch's
 * answer. While it sends none (for QUIET_MS), an XREAD BLOCK on a connection of its own hears the
 * other servers. Each read starts after the last entry handed on, so what two reads both bring is
 * handed on once; the reads are handled one at a time, in the order they answer.
 */
import { Command, type Redis } from 'ioredis';
import type { EngineEvent } from '../../../shared/events';
import { decodeEvents } from './codec';
import { MsgpackReader } from './msgpack';

/** One stream entry: the events of one batch of commands, and the server that ran it. */
export interface StreamEntry {
  id: string;
  owner: string;
  /** The batch's commands that had events, by their number on that server, in order. */
  commands: Array<{ no: number; events: EngineEvent[] }>;
  events: EngineEvent[];
}

export interface EventReaderOptions {
  /** The reader's own connection, for XREAD BLOCK. */
  connection: Redis;
  stream: string;
  /** Entries after this id are read (the stream's last id when the store started). */
  after: string;
  /**
   * Called with the entries of each read, in order; the next read is handled once its promise
   * settles. One call per read, so a burst reaches the handler as one batch.
   */
  deliver: (entries: StreamEntry[]) => void | Promise<void>;
  warn: (msg: string, err?: unknown) => void;
  /** Entries per read. */
  count?: number;
}

type XreadReply = Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;

/** How long a read blocks before it is made again (so a stop is noticed). */
const BLOCK_MS = 2_000;
/**
 * How long after the last poll the blocking read starts again. In a burst, polls follow one
 * another with a moment between them; a blocking read in that moment would be woken by the next
 * batch's entry, a reply and a wake-up more per batch. Other servers' events wait at most this
 * much longer, once per burst.
 */
const QUIET_MS = 5;

export class EventReader {
  /** The last entry read (handed on, or without events). */
  private lastId: string;
  private stopped = false;
  /** Reads are handled one after another, in the order they answered. */
  private handling: Promise<void> = Promise.resolve();
  /** Polls sent and not yet handled: while there are any, the blocking read waits. */
  private polls = 0;
  private lastPoll = 0;
  private whenIdle: (() => void) | null = null;
  private readonly done: Promise<void>;

  constructor(private readonly options: EventReaderOptions) {
    this.lastId = options.after;
    this.done = this.loop();
  }

  /**
   * Reads what is new, on the command connection `redis`: sent while a batch's write is held
   * (scripts.ts, Companion), so the read goes out with it and runs right behind it.
   */
  poll(redis: Redis): void {
    if (this.stopped) return;
    const { stream, count = 1000 } = this.options;
    this.polls++;
    this.lastPoll = performance.now();
    const read = (err: Error | null | undefined, reply: unknown) => {
      const done = err
        ? Promise.resolve(
            this.stopped
              ? undefined
              : this.options.warn('redis store: reading the event stream failed', err),
          )
        : this.handle(reply as XreadReply);
      void done.finally(() => {
        if (--this.polls === 0 && this.whenIdle !== null) {
          this.whenIdle();
          this.whenIdle = null;
        }
      });
    };
    // Buffer replies (replyEncoding null): the events are msgpack.
    void redis.sendCommand(
      new Command(
        'xread',
        ['COUNT', count, 'STREAMS', stream, this.lastId],
        { replyEncoding: null },
        read,
      ),
    );
  }

  /** Stops reading; the connection is closed (a blocked read ends at once). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.options.connection.disconnect();
    this.whenIdle?.();
    await this.done;
  }

  private async loop(): Promise<void> {
    const { connection, stream, count = 1000 } = this.options;
    while (!this.stopped) {
      if (this.polls > 0) {
        await new Promise<void>((resolve) => (this.whenIdle = resolve));
        continue;
      }
      const quiet = performance.now() - this.lastPoll;
      if (quiet < QUIET_MS) {
        await new Promise((r) => setTimeout(r, QUIET_MS - quiet));
        continue;
      }
      let reply: XreadReply;
      try {
        // Buffers: the events are msgpack.
        reply = (await connection.xreadBuffer(
          'COUNT',
          count,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          stream,
          this.lastId,
        )) as XreadReply;
      } catch (err) {
        if (this.stopped) return;
        this.options.warn('redis store: reading the event stream failed; retrying', err);
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      await this.handle(reply);
    }
  }

  /** Hands on the entries of one read that no earlier read brought, once those are handled. */
  private handle(reply: XreadReply): Promise<void> {
    if (reply === null) return this.handling;
    this.handling = this.handling
      .then(() => this.take(reply))
      .catch((err: unknown) =>
        this.options.warn('redis store: handing on events read failed', err),
      );
    return this.handling;
  }

  private async take(reply: NonNullable<XreadReply>): Promise<void> {
    if (this.stopped) return;
    const entries: StreamEntry[] = [];
    for (const [, read] of reply) {
      for (const [raw, fields] of read) {
        const id = raw.toString('latin1');
        if (streamIdAtOrBefore(id, this.lastId)) continue;
        this.lastId = id;
        const entry = parseEntry(id, fields);
        if (entry !== null) entries.push(entry);
      }
    }
    if (entries.length > 0) await this.options.deliver(entries);
  }

  /** The id of the last entry read. */
  get last(): string {
    return this.lastId;
  }
}

/**
 * Decodes one stream entry from its fields, as XREAD or XRANGE give them (Buffers): `o` the
 * server, `v` its events (codec.ts, decodeEvents). Entries of earlier versions are read too:
 * `c` ("<number>:<event count>,…" of the commands with events) with `m` (one msgpack array of
 * event maps per command) or `e` (one JSON array).
 */
export function parseEntry(id: string, fields: Buffer[]): StreamEntry | null {
  let owner = '';
  let list = '';
  let positional: Buffer | null = null;
  let packed: Buffer | null = null;
  let json: Buffer | null = null;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const f = fields[i]!;
    const v = fields[i + 1]!;
    if (f.length !== 1) continue;
    const name = f[0];
    if (name === 0x6f /* o */) owner = v.toString('utf8');
    else if (name === 0x76 /* v */) positional = v;
    else if (name === 0x63 /* c */) list = v.toString('latin1');
    else if (name === 0x6d /* m */) packed = v;
    else if (name === 0x65 /* e */) json = v;
  }
  let commands: StreamEntry['commands'];
  let events: EngineEvent[];
  if (positional !== null) {
    commands = decodeEvents(positional);
    events = [];
    for (const c of commands) for (const e of c.events) events.push(e);
    return { id, owner, commands, events };
  }
  const parts = list === '' ? [] : list.split(',');
  commands = [];
  if (packed !== null) {
    // One msgpack array of event maps per command, in the order `c` lists them.
    const reader = new MsgpackReader(packed);
    events = [];
    for (const part of parts) {
      const no = Number(part.slice(0, part.indexOf(':')));
      const own = reader.read() as EngineEvent[];
      commands.push({ no, events: own });
      for (const e of own) events.push(e);
    }
  } else if (json !== null) {
    // One JSON array.
    events = JSON.parse(json.toString('utf8')) as EngineEvent[];
    let at = 0;
    for (const part of parts) {
      const [no, count] = part.split(':').map(Number) as [number, number];
      commands.push({ no, events: events.slice(at, at + count) });
      at += count;
    }
  } else return null;
  return { id, owner, commands, events };
}

/**
 * Whether stream id `a` comes at or before `b` (`<ms>-<seq>`, decimal, no leading zeros): the
 * shorter number is the smaller, numbers of one length compare digit by digit. Nothing is
 * allocated (this runs for every command).
 */
export function streamIdAtOrBefore(a: string, b: string): boolean {
  if (a === b) return true;
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  if (da !== db) return da < db;
  for (let i = 0; i < da; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x < y;
  }
  if (a.length !== b.length) return a.length < b.length;
  for (let i = da + 1; i < a.length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x < y;
  }
  return true;
}
