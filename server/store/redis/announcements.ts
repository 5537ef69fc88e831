/**
 * The order a Redis store keeps between its commands and the event stream, so its callers see
 * what the memory store gives them: the starts a command granted reach the start handler before
 * its events reach the events handler, and the command answers after both.
 *
 * A command's reply (on the command connection) and its stream entry (on the reader's) race. The
 * reader holds an entry of this server's until the reply of its command is in (and its starts
 * handed on); the command waits until the reader has handed its entry on.
 */
import type { EngineEvent } from '../../../shared/events';
import { streamIdAtOrBefore, type StreamEntry } from './event-reader';

/** One command between being sent and being announced. */
export interface Pending {
  /** Its number on this server (a script writes it into its stream entry). */
  readonly no: number;
  replied: Promise<void>;
  markReplied: () => void;
  announced: Promise<void>;
  markAnnounced: () => void;
  /** Its stream entry, once its reply is in ('' when it had no events). */
  entry: string | null;
  /** Its events as the reader parsed them from its entry. */
  events: EngineEvent[] | null;
}

function deferred(): [Promise<void>, () => void] {
  let resolve = (): void => {};
  const p = new Promise<void>((r) => (resolve = r));
  return [p, resolve];
}

export class Announcements {
  private readonly pending = new Map<number, Pending>();
  private last = 0;
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
    const [replied, markReplied] = deferred();
    const [announced, markAnnounced] = deferred();
    const p: Pending = {
      no: ++this.last,
      replied,
      markReplied,
      announced,
      markAnnounced,
      entry: null,
      events: null,
    };
    this.pending.set(p.no, p);
    return p;
  }

  /** The command failed: nothing of it will be announced. */
  failed(p: Pending): void {
    this.pending.delete(p.no);
    p.markReplied();
  }

  /**
   * The command's reply is in and its starts were handed on: resolves once its events were
   * announced, with them as the reader parsed them (null when it had none, or they went by).
   */
  async replied(p: Pending, entry: string): Promise<EngineEvent[] | null> {
    p.entry = entry;
    p.markReplied();
    if (entry === '' || streamIdAtOrBefore(entry, this.dispatched)) this.pending.delete(p.no);
    else await p.announced;
    return p.events;
  }

  /** The reader's callback: the entries of one read, any server's, in stream order. */
  async heard(entries: StreamEntry[]): Promise<void> {
    for (const entry of entries) {
      if (entry.owner !== this.serverId) continue;
      for (const c of entry.commands) {
        const p = this.pending.get(c.no);
        if (p === undefined) continue;
        await p.replied;
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
    for (const [no, p] of this.pending) {
      if (p.entry !== null && p.entry !== '' && streamIdAtOrBefore(p.entry, this.dispatched)) {
        p.markAnnounced();
        this.pending.delete(no);
      }
    }
  }

  /** Lets every waiting command answer (the store is closing). */
  close(): void {
    for (const p of this.pending.values()) {
      p.markReplied();
      p.markAnnounced();
    }
    this.pending.clear();
  }
}
