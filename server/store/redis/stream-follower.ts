/**
 * How the shared message log (messages.ts) and the logs (delivery-logs.ts) follow the event
 * stream: every batch of events this server hears goes to `send`, in order, one call at a time
 * (batches that arrive meanwhile go together in the next); before the first, the stream is read
 * from its start and what the records have not applied yet (`applied`: the last seq they did) is
 * sent, so events written while no server followed them are applied too.
 */
import type { Redis } from 'ioredis';
import type { EngineEvent } from '../../../shared/events';
import { parseEntry } from './event-reader';

export interface StreamFollowerOptions {
  redis: Redis;
  /** The event stream's key. */
  stream: string;
  /** What the warnings name, e.g. "message log". */
  what: string;
  /** The last seq the records applied. */
  applied: () => Promise<number>;
  /** Applies a contiguous run of events (the records skip what they applied already). */
  send: (events: readonly EngineEvent[]) => Promise<void>;
  warn: (msg: string, err?: unknown) => void;
}

export class StreamFollower {
  /** Batches wait here while one is being sent: in order, and together. */
  private queued: EngineEvent[][] = [];
  private sending: Promise<void> | null = null;
  private started = false;

  constructor(private readonly o: StreamFollowerOptions) {}

  /** Catches up with the stream, then follows what `apply` is given. Call once, after wiring. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.sending = this.catchUp()
      .catch((err) => this.o.warn(`${this.o.what}: catching up with the events failed`, err))
      .then(() => this.sendQueued());
  }

  /** Every batch of events, in order. */
  apply(events: readonly EngineEvent[]): void {
    if (events.length === 0) return;
    this.queued.push(events as EngineEvent[]);
    if (this.sending === null && this.started) this.sending = this.sendQueued();
  }

  /** Resolves once every batch given so far has been sent (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.sending !== null) await this.sending;
  }

  private async sendQueued(): Promise<void> {
    while (this.queued.length > 0) {
      const events = this.queued.flat();
      this.queued = [];
      try {
        await this.o.send(events);
      } catch (err) {
        this.o.warn(`${this.o.what}: applying events failed`, err);
      }
    }
    this.sending = null;
  }

  /** Sends the stream's events after what the records applied, in chunks of entries. */
  private async catchUp(): Promise<void> {
    let from = '-';
    for (;;) {
      const entries = await this.o.redis.xrangeBuffer(this.o.stream, from, '+', 'COUNT', 1000);
      if (entries.length === 0) return;
      const events: EngineEvent[] = [];
      for (const [id, fields] of entries) {
        const entry = parseEntry(id.toString('latin1'), fields);
        if (entry !== null) events.push(...entry.events);
      }
      const applied = await this.o.applied();
      const fresh = events.filter((e) => e.seq > applied);
      if (fresh.length > 0) await this.o.send(fresh);
      from = `(${entries[entries.length - 1]![0].toString('latin1')}`;
    }
  }
}
