/**
 * The order a Redis store keeps between its commands and the event stream, so its callers see
 * what the memory store gives them: the starts a command granted reach the start handler before
 * its events reach the events handler, and the command answers after both.
 *
 * A command's reply and its stream entry (read behind the batch, or by the blocking reader) race.
 * The reader holds an entry of this server's until the reply of its command is in (and its starts
 * handed on); the command answers once the reader has handed its entry on.
 *
 * Callbacks rather than promises: this runs for every command, and the reply nearly always comes
 * first, so a promise is made only when the reader has to wait for one.
 */
import type { EngineEvent } from '../../../shared/events';
import { streamIdAtOrBefore, type StreamEntry } from './event-reader';

/** Called once a command's events were announced: with them as the reader decoded them (null
 * when it had none, they went by before the reply, or the store closed). */
export type Announced = (events: EngineEvent[] | null) => void;

/** One command between being sent and being announced. */
export interface Pending {
  /** Its number on this server (a script writes it into its stream entry). */
  readonly no: number;
  /** Its stream entry, once its reply is in ('' when it had no events or failed). */
  entry: string | null;
  /** Its events as the reader decoded them from its entry. */
  events: EngineEvent[] | null;
  /** Set while its reply is in and its entry not yet announced. */
  announced: Announced | null;
  /** Set while the reader waits for its reply. */
  replied: (() => void) | null;
}

export class Announcements {
  /**
   * The commands sent and not yet announced, by number: `slots[i]` is command `base + i` (or
   * undefined once it left). Not a Map: a Map whose keys keep changing is rehashed every few
   * commands, and V8 links each table it leaves to the next, so one table that a young-generation
   * GC finds in the old generation keeps every later table, and every Pending in them with its
   * events and callers, alive until the next full GC: most of what a cycle allocated survived
   * each scavenge, which made scavenges several milliseconds long.
   */
  private slots: Array<Pending | undefined> = [];
  private base = 1;
  private last = 0;
  private closed = false;
  /** The last stream entry handed to the events handler. */
  private dispatched: string;

  constructor(
    private readonly serverId: string,
    /** The stream's last entry when the reader started: nothing at or before it is read. */
    after: string,
    private readonly deliver: (events: EngineEvent[]) => void,
    private readonly warn: (msg: string, err?: unknown) => void,
  ) {
    this.dispatched = after;
  }

  /** A command about to be sent. */
  begin(): Pending {
    const p: Pending = {
      no: ++this.last,
      entry: null,
      events: null,
      announced: null,
      replied: null,
    };
    this.slots.push(p);
    return p;
  }

  private get(no: number): Pending | undefined {
    return no >= this.base ? this.slots[no - this.base] : undefined;
  }

  /** Takes command `p` out (its slot emptied, the empty slots at the front dropped). */
  private remove(p: Pending): void {
    const i = p.no - this.base;
    if (i < 0 || this.slots[i] !== p) return;
    this.slots[i] = undefined;
    let k = 0;
    while (k < this.slots.length && this.slots[k] === undefined) k++;
    if (k === 0) return;
    if (k === this.slots.length) this.slots = [];
    else this.slots.splice(0, k);
    this.base += k;
  }

  /** The command failed: nothing of it will be announced. */
  failed(p: Pending): void {
    this.remove(p);
    this.markReplied(p, '');
  }

  /**
   * The command's reply is in and its starts were handed on: `announced` is called once its
   * events were announced (at once when it had none, or they went by).
   */
  replied(p: Pending, entry: string, announced: Announced): void {
    this.markReplied(p, entry);
    if (this.closed || entry === '' || streamIdAtOrBefore(entry, this.dispatched)) {
      this.remove(p);
      announced(p.events);
    } else p.announced = announced;
  }

  /** The reader's callback: the entries of one read, any server's, in stream order. */
  async heard(entries: StreamEntry[]): Promise<void> {
    for (const entry of entries) {
      if (entry.owner !== this.serverId) continue;
      for (const c of entry.commands) {
        const p = this.get(c.no);
        if (p === undefined) continue;
        if (p.entry === null) await new Promise<void>((resolve) => (p.replied = resolve));
        p.events = c.events;
      }
    }
    const events = entries.length === 1 ? entries[0]!.events : entries.flatMap((e) => e.events);
    try {
      this.deliver(events);
    } catch (err) {
      this.warn('redis store: the events handler failed', err);
    }
    this.dispatched = entries.at(-1)!.id;
    // Every command whose entry is at or before this one has been announced, or was trimmed from
    // the stream before it was read (and nothing else would ever announce it).
    for (let no = this.base; no <= this.last; no++) {
      const p = this.get(no);
      if (p === undefined) continue;
      if (p.entry !== null && p.entry !== '' && streamIdAtOrBefore(p.entry, this.dispatched)) {
        this.remove(p);
        const announced = p.announced;
        p.announced = null;
        announced?.(p.events);
      }
    }
  }

  /** Lets every waiting command answer (the store is closing). */
  close(): void {
    this.closed = true;
    const all = this.slots;
    this.slots = [];
    this.base = this.last + 1;
    for (const p of all) {
      if (p === undefined) continue;
      this.markReplied(p, p.entry ?? '');
      const announced = p.announced;
      p.announced = null;
      announced?.(p.events);
    }
  }

  private markReplied(p: Pending, entry: string): void {
    p.entry = entry;
    const replied = p.replied;
    p.replied = null;
    replied?.();
  }
}
