/**
 * Commands go to Redis in batches: the commands one tick brings run, in the order they were
 * called, in one call of batch.lua, each exactly as it would alone (its own events, seqs and
 * wake-ups). The fixed cost of a script call (the call itself, reading and writing the global
 * record and a hot key's record, the stream entry) is paid once per batch: with 10 commands a
 * batch, about a third of the Redis CPU per command of one script per command.
 */
import type { EngineEvent } from '../../../shared/events';
import type { MessagePayload } from '../../flow/types';
import type { Announcements, Pending } from './announcements';
import {
  decodeEvents,
  parseBatchReply,
  type BatchReply,
  type CommandEvents,
  type GrantedStart,
} from './codec';
import { StringsWriter } from './msgpack';
import type { Operation, ScriptArg } from './scripts';

/** What a command answers: its events (its starts were already handed on). */
export interface Done {
  events: EngineEvent[];
}

interface Queued {
  op: Operation;
  args: readonly ScriptArg[];
  payload: MessagePayload | undefined;
  /** Its time ('' for Redis's). */
  now: string;
  pending: Pending;
  resolve: (done: Done) => void;
  reject: (err: unknown) => void;
}

/** The most commands one script runs (a longer queue is sent as several batches). */
const MAX_BATCH = 256;

export interface BatchesOptions {
  announcements: Announcements;
  /** Runs batch.lua with these arguments (after the common ones): the batch, packed. */
  run: (args: ScriptArg[]) => Promise<unknown>;
  /** A start the batch granted this server, with the payload its caller gave (accept's own). */
  granted: (start: GrantedStart, payload: MessagePayload | undefined) => void;
}

export class Batches {
  private queue: Queued[] = [];
  private timer: NodeJS.Immediate | null = null;

  constructor(private readonly options: BatchesOptions) {}

  /** Queues a command for the next batch; answers once it was announced. */
  push(
    op: Operation,
    args: readonly ScriptArg[],
    payload: MessagePayload | undefined,
    now: string,
  ): Promise<Done> {
    return new Promise<Done>((resolve, reject) => {
      const pending = this.options.announcements.begin();
      this.queue.push({ op, args, payload, now, pending, resolve, reject });
      this.timer ??= setImmediate(() => this.send());
    });
  }

  /** Sends what is queued now (before a read, or when the store closes). */
  sendNow(): void {
    if (this.timer !== null) clearImmediate(this.timer);
    this.timer = null;
    while (this.queue.length > 0) this.send();
  }

  /** Sends what is queued as one batch (at most MAX_BATCH commands; the rest follow at once). */
  private send(): void {
    this.timer = null;
    const batch = this.queue.splice(0, MAX_BATCH);
    if (batch.length === 0) return;
    if (this.queue.length > 0) this.timer = setImmediate(() => this.send());
    // The batch as one msgpack array of strings (see batch.lua), written straight from the queue.
    let n = 1;
    for (const q of batch) n += 4 + q.args.length;
    const w = new StringsWriter(n);
    w.number(batch.length);
    for (const q of batch) {
      w.string(q.op);
      w.number(q.pending.no);
      w.string(q.now);
      w.number(q.args.length);
      for (const a of q.args) w.value(a);
    }
    this.options.run([w.done()]).then(
      (raw) => this.answer(batch, raw),
      (err: unknown) => this.refuse(batch, err),
    );
  }

  private answer(batch: readonly Queued[], raw: unknown): void {
    const { announcements, granted } = this.options;
    let reply: BatchReply;
    try {
      reply = parseBatchReply(raw);
    } catch (err) {
      this.refuse(batch, err);
      return;
    }
    // The batch's events as its reply has them, decoded only for a command whose events the
    // reader did not bring (trimmed from the stream before it was read, or the store closing).
    let decoded: CommandEvents[] | null = null;
    const own = (no: number): EngineEvent[] => {
      decoded ??= reply.events.length > 0 ? decodeEvents(reply.events) : [];
      return decoded.find((c) => c.no === no)?.events ?? [];
    };
    batch.forEach((q, i) => {
      const r = reply.commands[i];
      if (r === undefined || r.error !== '') {
        announcements.failed(q.pending);
        q.reject(new Error(r?.error ?? 'the batch answered fewer commands than it was sent'));
        return;
      }
      for (const s of r.starts) granted(s, q.payload);
      if (r.events === 0) {
        announcements.replied(q.pending, '', () => q.resolve({ events: [] }));
        return;
      }
      announcements.replied(q.pending, reply.entry, (events) => {
        try {
          q.resolve({ events: events ?? own(q.pending.no) });
        } catch (err) {
          q.reject(err);
        }
      });
    });
  }

  private refuse(batch: readonly Queued[], err: unknown): void {
    for (const q of batch) {
      this.options.announcements.failed(q.pending);
      q.reject(err);
    }
  }
}
