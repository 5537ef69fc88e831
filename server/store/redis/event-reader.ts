/**
 * The one reader of a deployment's event stream that each store runs, on a connection of its own
 * (XREAD BLOCK): every server's events, in stream order, which is `seq` order (each script takes
 * its seqs and appends its entry at once).
 */
import type { Redis } from 'ioredis';
import type { EngineEvent } from '../../../shared/events';

/** One stream entry: the events of one batch of commands, and the server that ran it. */
export interface StreamEntry {
  id: string;
  owner: string;
  /** The batch's commands that had events, by their number on that server, in order. */
  commands: Array<{ no: number; events: EngineEvent[] }>;
  events: EngineEvent[];
}

export interface EventReaderOptions {
  connection: Redis;
  stream: string;
  /** Entries after this id are read (the stream's last id when the store started). */
  after: string;
  /**
   * Called with the entries of each read, in order; the next read waits until its promise
   * settles. One call per read, so a burst reaches the handler as one batch.
   */
  deliver: (entries: StreamEntry[]) => void | Promise<void>;
  warn: (msg: string, err?: unknown) => void;
  /** Entries per read. */
  count?: number;
}

/** How long a read blocks before it is made again (so a stop is noticed). */
const BLOCK_MS = 2_000;

export class EventReader {
  private lastId: string;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(private readonly options: EventReaderOptions) {
    this.lastId = options.after;
    this.done = this.loop();
  }

  /** Stops reading; the connection is closed (a blocked read ends at once). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.options.connection.disconnect();
    await this.done;
  }

  private async loop(): Promise<void> {
    const { connection, stream, count = 1000 } = this.options;
    while (!this.stopped) {
      let reply: Array<[string, Array<[string, string[]]>]> | null;
      try {
        reply = await connection.xread(
          'COUNT',
          count,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          stream,
          this.lastId,
        );
      } catch (err) {
        if (this.stopped) return;
        this.options.warn('redis store: reading the event stream failed; retrying', err);
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (reply === null) continue;
      const entries: StreamEntry[] = [];
      for (const [, read] of reply) {
        for (const [id, fields] of read) {
          this.lastId = id;
          const entry = parseEntry(id, fields);
          if (entry !== null) entries.push(entry);
        }
      }
      if (entries.length === 0) continue;
      try {
        const delivered = this.options.deliver(entries);
        if (delivered instanceof Promise) await delivered;
      } catch (err) {
        this.options.warn('redis store: an events handler failed', err);
      }
    }
  }

  /** The id of the last entry read. */
  get last(): string {
    return this.lastId;
  }
}

function parseEntry(id: string, fields: string[]): StreamEntry | null {
  let owner = '';
  let list = '';
  let json: string | null = null;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const f = fields[i];
    const v = fields[i + 1] as string;
    if (f === 'o') owner = v;
    else if (f === 'c') list = v;
    else if (f === 'e') json = v;
  }
  if (json === null) return null;
  const events = JSON.parse(json) as EngineEvent[];
  const commands: StreamEntry['commands'] = [];
  let at = 0;
  for (const part of list === '' ? [] : list.split(',')) {
    const [no, count] = part.split(':').map(Number) as [number, number];
    commands.push({ no, events: events.slice(at, at + count) });
    at += count;
  }
  return { id, owner, commands, events };
}

/** Whether stream id `a` comes at or before `b` (`<ms>-<seq>`). */
export function streamIdAtOrBefore(a: string, b: string): boolean {
  if (a === b) return true;
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  const am = Number(a.slice(0, da));
  const bm = Number(b.slice(0, db));
  return am < bm || (am === bm && Number(a.slice(da + 1)) <= Number(b.slice(db + 1)));
}
