/**
 * How the shared message log (messages.ts) and the logs (delivery-logs.ts) follow the event
 * stream: one follower per server takes every batch of events the server hears, in order, and
 * applies it to every part that joined it (the logs, then the message log) with one script call.
 * Each part's script skips what it applied already (its own marker says how far it followed), so
 * each event is applied once, in seq order, however many servers send it.
 *
 * Every server hears every event, so one server sending them is enough: the one holding the
 * applier's lease (`hl:<parts>`, taken and renewed by each call that applies, released on close).
 * The others keep what they heard until the markers show it applied, checking every `CHECK_MS`;
 * when the lease is free (its holder stopped, or died between a stream entry and its apply and
 * let it run out) the first to see it takes it and applies what is left, so nothing accepted is
 * lost. Before the first batch, the stream is read from its start and what the parts have not
 * applied yet is queued first (events written while no server followed them).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { connectRedis } from './connection';
import type { EngineEvent } from '../../../shared/events';
import { parseEntry } from './event-reader';
import { keyspace } from './keys';

/** One part following the stream: the message log, or the logs. */
export interface FollowerPart {
  /** Short and unique among the parts (it names the lease), e.g. "ml". */
  tag: string;
  /** Parts apply a batch in this order, lowest first. */
  order: number;
  /**
   * Its script: a Lua chunk that applies a batch, given the deployment's prefix as KEYS[1] and
   * its own arguments as ARGV, and returns a list whose first item is the last seq it applied.
   * Run inside a function; `leaveDeadLetters` and the like may be defined by `prelude`.
   */
  lua: string;
  /** Lua defined once before every part's function (shared helpers). */
  prelude?: string;
  /** A Lua expression: the last seq it applied (`P` is the prefix). */
  mark: string;
  /** Its arguments for a batch of events (contiguous, in order). */
  args: (events: readonly EngineEvent[]) => string[];
  /** Handles its script's reply to a batch (warnings, what retention dropped). */
  replied: (reply: unknown[], events: readonly EngineEvent[]) => void;
}

export interface StreamFollowerOptions {
  url: string;
  prefix: string;
  /** What the warnings name, e.g. "message log". */
  what: string;
  warn: (msg: string, err?: unknown) => void;
  /** How long the applier's lease lasts after its last apply. */
  leaseMs?: number;
}

/** How long the lease lasts after each apply: how long history waits when its applier dies. */
const LEASE_MS = 1_000;
/** How often a server that does not apply checks that what it heard was applied. */
const CHECK_MS = 25;
/**
 * An apply that failed (Redis out of reach, a timeout) is tried again this many times, waiting
 * RETRY_MS more each time, before its events are given up with a warning: only this server
 * applies them, and once a later batch is applied no server would.
 */
const RETRIES = 5;
const RETRY_MS = 200;

type Reply = [number, ...unknown[]];

type WithScript = Redis & {
  followerApply(prefix: string, lease: string, ...args: string[]): Promise<Reply>;
};

export class StreamFollower {
  private readonly redis: WithScript;
  private readonly space: string;
  private readonly parts: FollowerPart[] = [];
  /** This follower's name on the lease. */
  private readonly id = randomBytes(8).toString('hex');
  private lease = '';
  /** Batches heard and not known to be applied, in order. */
  private queue: EngineEvent[][] = [];
  /** The last seq queued: a batch given twice (by each part) is queued once. */
  private lastQueued = 0;
  /** Whether this server applies (it holds the lease, or last saw it free). */
  private leading = true;
  /** Applies that failed in a row. */
  private failures = 0;
  private pumping: Promise<void> | null = null;
  private started = false;
  private closing: Promise<void> | null = null;
  private users = 0;

  constructor(private readonly o: StreamFollowerOptions) {
    this.space = keyspace(o.prefix);
    this.redis = connectRedis(o.url) as WithScript;
  }

  /** Adds a part; every part joins before `start`. Returns the part's `close`. */
  join(part: FollowerPart): () => Promise<void> {
    if (this.started) throw new Error('a part joins the stream follower before it starts');
    this.parts.push(part);
    this.parts.sort((a, b) => a.order - b.order);
    this.users++;
    let closed = false;
    return async () => {
      if (closed) return;
      closed = true;
      if (--this.users === 0) await this.close();
      else await this.settled();
    };
  }

  /** Catches up with the stream, then follows what `apply` is given. Later calls do nothing. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.lease = `${this.space}hl:${this.parts.map((p) => p.tag).join('+')}`;
    this.redis.defineCommand('followerApply', { numberOfKeys: 2, lua: this.script() });
    this.pumping = this.catchUp()
      .catch((err) => this.o.warn(`${this.o.what}: catching up with the events failed`, err))
      .then(() => this.pump());
  }

  /** Every batch of events, in order (each part may give the same batch: it is queued once). */
  apply(events: readonly EngineEvent[]): void {
    if (events.length === 0) return;
    const last = events[events.length - 1]!.seq;
    if (last <= this.lastQueued) return;
    const from = this.lastQueued;
    this.queue.push(
      events[0]!.seq > from ? (events as EngineEvent[]) : events.filter((e) => e.seq > from),
    );
    this.lastQueued = last;
    if (this.pumping === null && this.started) this.pumping = this.pump();
  }

  /** Resolves once every batch given so far has been applied, here or by another server. */
  async settled(): Promise<void> {
    while (this.pumping !== null) await this.pumping;
  }

  private close(): Promise<void> {
    this.closing ??= (async () => {
      await this.settled();
      // The next server need not wait for the lease to run out.
      if (this.started && this.leading)
        await this.redis.followerApply(this.space, this.lease, this.id, '0', 'r').catch(() => {});
      await this.redis.quit();
    })();
    return this.closing;
  }

  /** Applies what is queued (leading), or waits until another server has. */
  private async pump(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        if (this.leading) {
          const events = this.take();
          if (events.length === 0) continue;
          const sent = await this.send(events);
          if (sent === 'held') {
            // Another server holds the lease: it applies them (or they wait for its lease).
            this.queue.unshift(events);
            this.leading = false;
          } else if (sent === 'failed') {
            this.queue.unshift(events);
            await new Promise((r) => setTimeout(r, RETRY_MS * this.failures));
          }
          continue;
        }
        let reply: Reply;
        try {
          reply = await this.redis.followerApply(this.space, this.lease, this.id, '0', 'c');
        } catch {
          // Unsure: try to apply them (a failure there is told, as any).
          this.leading = true;
          continue;
        }
        const applied = Math.min(...reply.slice(1).map(Number));
        this.queue = this.queue
          .map((b) => (b[b.length - 1]!.seq <= applied ? [] : b.filter((e) => e.seq > applied)))
          .filter((b) => b.length > 0);
        if (reply[0] === 1) this.leading = true;
        else if (this.queue.length > 0) await new Promise((r) => setTimeout(r, CHECK_MS));
      }
    } finally {
      this.pumping = null;
    }
  }

  /** The queued batches as one run of events, each seq once, in order. */
  private take(): EngineEvent[] {
    const out: EngineEvent[] = [];
    let last = 0;
    for (const batch of this.queue)
      for (const e of batch) {
        if (e.seq > last) out.push(e);
        last = Math.max(last, e.seq);
      }
    this.queue = [];
    return out;
  }

  /**
   * Applies a run of events to every part: 'held' when another server holds the lease, 'failed'
   * when the call failed and is to be tried again (an apply that ran is skipped by the markers).
   */
  private async send(events: readonly EngineEvent[]): Promise<'applied' | 'held' | 'failed'> {
    const args: string[] = [this.id, String(this.o.leaseMs ?? LEASE_MS), 'a'];
    for (const part of this.parts) {
      const own = part.args(events);
      args.push(String(own.length));
      for (const a of own) args.push(a);
    }
    let reply: Reply;
    try {
      reply = await this.redis.followerApply(this.space, this.lease, ...args);
    } catch (err) {
      if (++this.failures <= RETRIES) return 'failed';
      this.failures = 0;
      this.o.warn(
        `${this.o.what}: applying events failed ${RETRIES + 1} times; seqs ${events[0]!.seq}–${events.at(-1)!.seq} are given up`,
        err,
      );
      return 'applied';
    }
    this.failures = 0;
    if (reply[0] === 0) return 'held';
    this.parts.forEach((part, i) => part.replied(reply[i + 1] as unknown[], events));
    return 'applied';
  }

  /**
   * The one script: KEYS[1] the prefix, KEYS[2] the lease; ARGV[1] this follower, ARGV[2] the
   * lease's length, ARGV[3] 'a' (apply: then per part, its argument count and its arguments),
   * 'c' (check: answers whether the lease is free or ours, then each part's last seq applied) or
   * 'r' (release the lease, if ours). Applying answers 0 when another server holds the lease,
   * else 1 and then each part's reply.
   */
  private script(): string {
    const preludes = [...new Set(this.parts.map((p) => p.prelude ?? ''))];
    const fns = this.parts.map((p, i) => `local function part${i}(KEYS, ARGV)\n${p.lua}\nend`);
    const marks = this.parts.map((p) => p.mark).join(', ');
    const calls = this.parts.map(
      (_, i) => `do
  local n, own = tonumber(ARGV[at]), {}
  for j = 1, n do own[j] = ARGV[at + j] end
  at = at + n + 1
  out[#out + 1] = part${i}({ P }, own)
end`,
    );
    return `${preludes.join('\n')}
${fns.join('\n')}
local P = KEYS[1]
local holder = redis.call('GET', KEYS[2])
local free = not holder or holder == ARGV[1]
if ARGV[3] == 'c' then return { free and 1 or 0, ${marks} } end
if ARGV[3] == 'r' then
  if holder == ARGV[1] then redis.call('DEL', KEYS[2]) end
  return { 1 }
end
if not free then return { 0 } end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
local out, at = { 1 }, 4
${calls.join('\n')}
return out`;
  }

  /** Queues the stream's events after what every part applied, ahead of what was heard. */
  private async catchUp(): Promise<void> {
    const marks = this.parts.map((p) => p.mark).join(', ');
    const applied = async () =>
      Math.min(
        ...(
          (await this.redis.eval(
            `local P = KEYS[1]\nreturn { ${marks} }`,
            1,
            this.space,
          )) as number[]
        ).map(Number),
      );
    const caught: EngineEvent[] = [];
    let from = '-';
    for (;;) {
      const entries = await this.redis.xrangeBuffer(
        `${this.space}events`,
        from,
        '+',
        'COUNT',
        1000,
      );
      if (entries.length === 0) break;
      const done = await applied();
      for (const [id, fields] of entries) {
        const entry = parseEntry(id.toString('latin1'), fields);
        if (entry !== null) for (const e of entry.events) if (e.seq > done) caught.push(e);
      }
      from = `(${entries[entries.length - 1]![0].toString('latin1')}`;
    }
    if (caught.length === 0) return;
    this.queue.unshift(caught);
    this.lastQueued = Math.max(this.lastQueued, caught[caught.length - 1]!.seq);
  }
}
