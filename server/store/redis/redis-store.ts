/**
 * The Redis store: flow control's state and decisions in Redis, so several Baton servers share one
 * set of limits and a restart loses nothing. The rules of shared/engine are ported to Lua
 * (lua/core-*.lua), one file per operation (lua/accept.lua, lua/finish.lua…); time inside the
 * scripts is Redis's TIME, so servers with skewed clocks share one rate window. The Lua is one
 * Redis Functions library (scripts.ts; Redis 7 or later), loaded once and called with FCALL,
 * loaded again when Redis answers that a function is missing (a restart, FUNCTION FLUSH).
 *
 * Commands go to Redis in batches (batches.ts, lua/batch.lua): the commands one tick brings run
 * in one function call, in order, each exactly as it would alone. Reads (a key, a snapshot…) are
 * one call each.
 *
 * Data layout (all keys under one hash tag, `{<prefix>}`; names in keys.ts). Records are msgpack
 * arrays in one string: read once per call, written back only when they changed.
 *   g            string  global record: limit, in flight, last seq, stats (accepted, delivered,
 *                        dead, cancelled), the random policy's source, a counter (tickets,
 *                        orders), the last instant a command ran at (time never goes back)
 *   keys         zset    every flow-control key, scored by creation (the engine's Map order)
 *   k:<key>      string  key record: parallelism, rate, period, pinned flags, paused, in flight,
 *                        rate count and window start, scheduled, its window wake-up, queued for a
 *                        global slot, last activity, live waitlist size
 *   w:<key>      list    the waitlist: "<ticket>:<id>", cancelled entries skipped when reached
 *   a:<key>      zset    in-flight message ids, in start order
 *   m:<id>       hash    c: the message record (key, state, attempt, retries, ready, started, wait
 *                        reason, passes, cancel requested, wake member, lease owner and number,
 *                        ticket); p: payload JSON; b: body bytes; w: the Workflow step it is
 *                        (JSON, Workflow messages only). Deleted when the message ends.
 *   wake         zset    delayed and retrying messages and rate-window ends, by instant
 *   leases       zset    in-flight message ids by lease expiry
 *   gq           list    keys waiting for a global slot
 *   events       stream  one entry per batch: its writer (o) and its commands' events (v, msgpack,
 *                        each event positional: codec.ts, EVENT_SCHEMA)
 *
 * Leases: each start is granted to the server that ran the command, under a lease it renews
 * every `renewEveryMs`. A lease not renewed for `leaseMs` is reclaimed by whichever store runs
 * `wake` or its renewal next (`lease:expired`): the token is freed and the message goes back
 * through flow control as its next attempt. No token leaks; a message in flight when its server
 * died may be delivered twice. A server that stops hands its tokens back (`handBack`): it is
 * granted no more starts (the keys are woken for the others instead), starts granted to it before
 * are given back unbegun, and at its stop's timeout it gives back the leases it still holds
 * (`releaseHeld`, lua/release.lua), so the others go on at once rather than after a lease.
 *
 * Events: every store reads the whole stream and hands what each read brings to its events
 * handler, so each server hears every server's events once, in `seq` order (event-reader.ts: a
 * read rides behind each batch; a blocking read on a connection of its own hears the other
 * servers while this one is quiet). A command answers after its starts were handed to the start
 * handler and its events to the events handler, as with the memory store (announcements.ts).
 *
 * A command whose answer a dropped connection lost fails (it may or may not have run): it is not
 * sent again after the reconnect, where it would run a second time (scripts.ts, refuseUnanswered).
 *
 * Durability is Redis's: with AOF the state survives a Redis restart. `close()` closes the
 * connections and leaves the state (and its leases, which expire unless it comes back in time).
 */
import { randomUUID } from 'node:crypto';
import type { Redis, RedisOptions } from 'ioredis';
import { connectRedis } from './connection';
import type { EngineEvent } from '../../../shared/events';
import type {
  Accepted,
  AttemptResult,
  HandoffPolicy,
  KeySnapshot,
  MessageHandle,
  MessageView,
  PinInput,
  PublishInput,
  UnpinInput,
} from '../../../shared/engine/types';
import { validateConfig, validateDelay, validateLimit } from '../../../shared/engine/validate';
import { DEFAULT_RETRIES } from '../../../shared/engine/retry';
import type { KeyId, MessageId, Millis } from '../../../shared/engine/units';
import type { Clock, MessagePayload } from '../../flow/types';
import type {
  EventsHandler,
  FlowStore,
  GlobalUse,
  StartHandler,
  StoreSnapshot,
} from '../flow-store';
import { encodePayload, messageView, parseReadReply, type GrantedStart } from './codec';
import { Announcements } from './announcements';
import { Batches } from './batches';
import { EventReader } from './event-reader';
import { keyspace, redisKeys, type RedisKeys } from './keys';
import {
  loadScripts,
  refuseUnanswered,
  runScript,
  type Operation,
  type ScriptArg,
  type ScriptName,
} from './scripts';

export interface RedisStoreOptions {
  /** `redis://…`; 127.0.0.1:6379 by default. */
  url?: string;
  redisOptions?: RedisOptions;
  /** Prefix of every key, so several deployments can share one Redis (`baton:` by default). */
  prefix?: string;
  /** This server's id, the owner of its leases (random by default: a restart is a new owner). */
  serverId?: string;
  /**
   * For tests only: the scripts take `now` from this clock instead of Redis's TIME, so a test
   * moves time by hand (and can run the memory store on the same clock).
   */
  clock?: Clock;
  policy?: HandoffPolicy;
  /** Seed of the `random` policy's source, used when the deployment has none yet. */
  seed?: number;
  randomWindow?: number;
  /** Set at start (without an event), as the memory store's option; absent: left as it is. */
  globalParallelism?: number | null;
  /** How long a start's lease lasts unless renewed (30 s by default). */
  leaseMs?: number;
  /** How often this server renews its leases and reclaims expired ones (10 s by default). */
  renewEveryMs?: number;
  /** Approximate length the event stream is trimmed to (entries, one per batch of commands). */
  streamMaxLen?: number;
  /** Keys one script reads (`keys()`) or sweeps (`forgetIdleKeys`) in one call: 500 by default. */
  keysPerRun?: number;
  /** ioredis auto-pipelining on the command connection (on by default). */
  autoPipelining?: boolean;
  warn?: (msg: string, err?: unknown) => void;
}

/** A handle this store gave: `lease` names the start it was given for ('' for accept's). */
export class RedisHandle implements MessageHandle {
  constructor(
    readonly id: MessageId,
    readonly data: MessagePayload | undefined,
    readonly lease: string,
  ) {}
}

const flag = (b: boolean | undefined): string => (b === true ? '1' : '0');
const opt = (n: number | undefined | null): string =>
  n === undefined || n === null ? '' : String(n);

export class RedisStore implements FlowStore {
  readonly kind = 'redis';
  readonly serverId: string;
  readonly prefix: string;
  readonly names: RedisKeys;
  private readonly space: string;
  private readonly redis: Redis;
  private readonly readerConnection: Redis;
  private readonly clock: Clock | undefined;
  private readonly policy: HandoffPolicy;
  private readonly randomWindow: number;
  private readonly leaseMs: number;
  private readonly renewEveryMs: number;
  private readonly streamMaxLen: number;
  private readonly keysPerRun: number;
  private readonly warn: (msg: string, err?: unknown) => void;
  private startHandler: StartHandler | null = null;
  private eventsHandler: EventsHandler = () => {};
  /**
   * Deliveries this server runs: message id → lease number (renewed on the timer). An object
   * rather than a Map, for the young-generation GC (see `slots` in announcements.ts).
   */
  private readonly running: Record<string, string> = Object.create(null) as Record<string, string>;
  private announcements: Announcements | null = null;
  private batches: Batches | null = null;
  /** Redis's clock minus this process's, measured at start and at every renewal. */
  private offsetMs = 0;
  private reader: EventReader | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Set once this server hands its tokens back (handBack: it is stopping). */
  private handingBack = false;
  readonly ready: Promise<void>;

  constructor(options: RedisStoreOptions = {}) {
    this.prefix = options.prefix ?? 'baton:';
    this.space = keyspace(this.prefix);
    this.names = redisKeys(this.space);
    this.serverId = options.serverId ?? randomUUID();
    this.clock = options.clock;
    this.policy = options.policy ?? 'fifo';
    this.randomWindow = options.randomWindow ?? 8;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.keysPerRun = options.keysPerRun ?? 500;
    this.renewEveryMs = options.renewEveryMs ?? 10_000;
    this.streamMaxLen = options.streamMaxLen ?? 10_000;
    this.warn = options.warn ?? ((msg, err) => console.warn(msg, err));
    if (options.globalParallelism != null) {
      validateLimit('global parallelism', options.globalParallelism);
    }
    const url = options.url ?? 'redis://127.0.0.1:6379';
    this.redis = connectRedis(
      url,
      {
        enableAutoPipelining: options.autoPipelining ?? true,
        ...options.redisOptions,
        // A command sent again after a reconnect could run twice (scripts.ts, refuseUnanswered).
        autoResendUnfulfilledCommands: false,
      },
      this.warn,
    );
    const redis = this.redis;
    redis.on('close', () => refuseUnanswered(redis));
    this.readerConnection = connectRedis(url, {
      ...options.redisOptions,
      enableAutoPipelining: false,
    });
    this.ready = this.start(options);
    this.ready.catch((err: unknown) => this.warn('redis store: could not start', err));
  }

  /** A store that has connected, loaded its functions and started reading the event stream. */
  static async open(options: RedisStoreOptions = {}): Promise<RedisStore> {
    const store = new RedisStore(options);
    try {
      await store.ready;
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  private async start(options: RedisStoreOptions): Promise<void> {
    await loadScripts(this.redis);
    await this.measureClock();
    const g = options.globalParallelism;
    const reply = (await this.script('init', [
      String((options.seed ?? 1) >>> 0),
      flag(g !== undefined),
      opt(g),
    ])) as [Buffer, Buffer];
    if (this.closed) return;
    const after = reply[1].toString();
    const announcements = new Announcements(
      this.serverId,
      after,
      (events) => this.eventsHandler(events),
      this.warn,
    );
    this.announcements = announcements;
    const reader = new EventReader({
      connection: this.readerConnection,
      stream: this.names.events,
      after,
      deliver: (entries) => announcements.heard(entries),
      warn: this.warn,
    });
    this.reader = reader;
    this.batches = new Batches({
      announcements,
      // Its entry (and what other servers wrote meanwhile) comes back right behind its reply.
      run: (args) =>
        runScript(this.redis, 'batch', this.space, [...this.header(), ...args], (redis) =>
          reader.poll(redis),
        ),
      granted: (start, payload) => this.granted(start, payload),
    });
    this.renewTimer = setInterval(() => this.renew(), this.renewEveryMs);
    this.renewTimer.unref();
  }

  onStart(handler: StartHandler): void {
    this.startHandler = handler;
  }

  onEvents(handler: EventsHandler): void {
    this.eventsHandler = handler;
  }

  // ── commands ──────────────────────────────────────────────────────────────────────────────

  async accept(input: PublishInput, payload: MessagePayload): Promise<Accepted> {
    if (input.config !== undefined) validateConfig(input.config);
    const retries = input.retries ?? DEFAULT_RETRIES;
    if (!Number.isInteger(retries) || retries < 0)
      throw new RangeError(`retries must be an integer ≥ 0`);
    const { json, body } = encodePayload(payload);
    const c = input.config;
    const nb = input.notBefore;
    const handle = new RedisHandle(input.id, payload, '');
    const reply = await this.command(
      'accept',
      [
        input.id,
        flag(input.key !== undefined),
        input.key ?? '',
        flag(c !== undefined),
        opt(c?.parallelism),
        opt(c?.rate),
        opt(c?.periodMs),
        String(retries),
        nb === undefined || Number.isNaN(nb) ? '' : String(nb),
        json,
        flag(body !== null),
        body ?? '',
        input.workflow === undefined ? '' : JSON.stringify(input.workflow),
      ],
      payload,
    );
    return { message: handle, events: reply.events };
  }

  async finish(message: MessageHandle, result: AttemptResult): Promise<EngineEvent[]> {
    if (!result.ok && result.retryDelayMs !== undefined) {
      validateDelay('retryDelayMs', result.retryDelayMs);
    }
    const lease = message instanceof RedisHandle ? message.lease : '';
    try {
      const reply = await this.command('finish', [
        message.id,
        lease,
        flag(result.ok),
        opt(result.status),
        flag(!result.ok && result.error !== undefined),
        result.ok ? '' : (result.error ?? ''),
        result.ok ? '' : opt(result.retryDelayMs),
        flag(!result.ok && result.nonRetryable === true),
      ]);
      return reply.events;
    } finally {
      if (lease === '' || this.running[message.id] === lease) delete this.running[message.id];
    }
  }

  async cancel(message: MessageHandle): Promise<EngineEvent[]> {
    return (await this.command('cancel', [message.id])).events;
  }

  async pause(key: KeyId): Promise<EngineEvent[]> {
    return (await this.command('pause', [key])).events;
  }

  async resume(key: KeyId): Promise<EngineEvent[]> {
    return (await this.command('resume', [key])).events;
  }

  async pin(key: KeyId, pin: PinInput): Promise<EngineEvent[]> {
    if (pin.parallelism === undefined && pin.rate === undefined && pin.periodMs === undefined) {
      throw new RangeError('pin needs at least one of parallelism, rate or period');
    }
    validateConfig(pin);
    return (
      await this.command('pin', [key, opt(pin.parallelism), opt(pin.rate), opt(pin.periodMs)])
    ).events;
  }

  async unpin(key: KeyId, unpin: UnpinInput): Promise<EngineEvent[]> {
    return (await this.command('unpin', [key, flag(unpin.parallelism), flag(unpin.rate)])).events;
  }

  async resetRate(key: KeyId): Promise<EngineEvent[]> {
    return (await this.command('reset-rate', [key])).events;
  }

  async setGlobalParallelism(parallelism: number | null): Promise<EngineEvent[]> {
    if (parallelism !== null) validateLimit('global parallelism', parallelism);
    return (await this.command('set-global', [opt(parallelism)])).events;
  }

  async wake(): Promise<EngineEvent[]> {
    return (await this.command('wake', [])).events;
  }

  async nextWakeAt(): Promise<Millis | null> {
    await this.ready;
    const at = await this.script('next-wake', []);
    return at === null ? null : (Number(String(at)) as Millis);
  }

  async forgetIdleKeys(idleMs: Millis): Promise<EngineEvent[]> {
    validateDelay('idleMs', idleMs);
    const events: EngineEvent[] = [];
    for await (const [after, upTo] of this.keyRuns()) {
      events.push(...(await this.command('forget-idle', [String(idleMs), after, upTo])).events);
    }
    return events;
  }

  /**
   * Renews the leases of the deliveries this server runs, reclaims expired leases (any server's)
   * and runs what is due. The lease timer calls it every `renewEveryMs`; tests call it directly.
   */
  async renewLeases(): Promise<EngineEvent[]> {
    const args: string[] = [];
    for (const id in this.running) args.push(id, this.running[id]!);
    return (await this.command('renew', args)).events;
  }

  // ── reads ─────────────────────────────────────────────────────────────────────────────────

  now(): Millis {
    return (this.clock !== undefined ? this.clock.now() : Date.now() + this.offsetMs) as Millis;
  }

  async key(key: KeyId, waitlistLimit = 100): Promise<KeySnapshot | undefined> {
    return (await this.read('key', waitlistLimit, key)).keys[0];
  }

  /** Every key, read a run at a time (keyRuns): each key as it was when its run was read. */
  async keys(): Promise<KeySnapshot[]> {
    const keys: KeySnapshot[] = [];
    for await (const [after, upTo] of this.keyRuns()) {
      keys.push(...(await this.read('keys', 0, after, upTo)).keys);
    }
    return keys;
  }

  async snapshot(waitlistLimit = 100): Promise<StoreSnapshot> {
    const r = await this.read('snapshot', waitlistLimit);
    return {
      seq: r.seq,
      at: r.at,
      policy: this.policy,
      engine: { globalParallelism: r.max, globalInFlight: r.inf, keys: r.keys, stats: r.stats },
    };
  }

  async message(message: MessageHandle): Promise<MessageView | undefined> {
    await this.ready;
    return messageView(message.id, await this.script('read', ['message', 0, message.id]));
  }

  async global(): Promise<GlobalUse> {
    const r = await this.read('global', 0);
    return { parallelism: r.max, inFlight: r.inf };
  }

  handBack(): void {
    this.handingBack = true;
  }

  async releaseHeld(): Promise<number> {
    const args: string[] = [];
    for (const id in this.running) {
      args.push(id, this.running[id]!, '1');
      delete this.running[id];
    }
    if (args.length > 0) await this.command('release', args);
    return args.length / 3;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.renewTimer !== null) clearInterval(this.renewTimer);
    await this.ready.catch(() => {});
    this.batches?.sendNow();
    if (this.reader !== null) await this.reader.stop();
    else this.readerConnection.disconnect();
    this.announcements?.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  // ── the machinery ─────────────────────────────────────────────────────────────────────────

  /** The arguments every script takes first (lua/core-records.lua, ARGV[1…7]). */
  private header(): ScriptArg[] {
    return [
      this.clock === undefined ? '' : String(this.clock.now()),
      this.serverId,
      this.leaseMs,
      this.policy,
      this.randomWindow,
      this.streamMaxLen,
      this.handingBack ? '1' : '0',
    ];
  }

  /** Runs a script; what is queued goes first, so a read sees every command called before it. */
  private script(name: ScriptName, args: readonly ScriptArg[]): Promise<unknown> {
    if (name !== 'batch') this.batches?.sendNow();
    return runScript(this.redis, name, this.space, [...this.header(), ...args]);
  }

  private async read(what: string, limit: number, ...rest: string[]) {
    await this.ready;
    return parseReadReply(await this.script('read', [what, limit, ...rest]));
  }

  /**
   * The key list in runs of `keysPerRun`, in creation order: the scores each run starts after and
   * ends at (ZRANGE BYSCORE bounds). A script that walks every key at once holds Redis, and every
   * server's commands, for as long as that takes (about 100–400 ms at 10,000 keys here); a run at
   * a time, other commands go in between. A key made meanwhile comes in a later run.
   */
  private async *keyRuns(): AsyncGenerator<[string, string]> {
    await this.ready;
    let after = '-inf';
    for (;;) {
      this.batches?.sendNow();
      const page = await this.redis.zrange(
        this.names.keys,
        after,
        '+inf',
        'BYSCORE',
        'LIMIT',
        0,
        this.keysPerRun,
        'WITHSCORES',
      );
      if (page.length === 0) return;
      const upTo = page[page.length - 1]!;
      yield [after, upTo];
      if (page.length < 2 * this.keysPerRun) return;
      after = `(${upTo}`;
    }
  }

  /**
   * Queues a command for the next batch (batches.ts). Answers once its starts were handed to the
   * start handler and its events to the events handler. `payload` is the accepted message's,
   * which its start need not fetch back.
   */
  private command(
    op: Operation,
    args: readonly ScriptArg[],
    payload?: MessagePayload,
  ): Promise<{ events: EngineEvent[] }> {
    const now = this.clock === undefined ? '' : String(this.clock.now());
    // Once started, no promise of its own: this runs for every command.
    if (this.batches !== null && !this.closed) return this.batches.push(op, args, payload, now);
    return this.ready.then(() => {
      if (this.closed || this.batches === null) throw new Error('the redis store is closed');
      return this.batches.push(op, args, payload, now);
    });
  }

  private granted(s: GrantedStart, payload: MessagePayload | undefined): void {
    if (this.handingBack) {
      // Granted by a command sent before this server began to stop: given back, unbegun.
      this.command('release', [s.id, s.lease, '0']).catch((err: unknown) =>
        this.warn(`redis store: giving back ${s.id}'s start failed (its lease will run out)`, err),
      );
      return;
    }
    this.running[s.id] = s.lease;
    const handle = new RedisHandle(s.id, s.payload ?? payload, s.lease);
    if (this.startHandler === null) return;
    try {
      this.startHandler(handle, s.key, s.attempt);
    } catch (err) {
      this.warn('redis store: the start handler failed', err);
    }
  }

  private renew(): void {
    if (this.closed) return;
    this.renewLeases().catch((err: unknown) =>
      this.warn('redis store: renewing leases failed', err),
    );
    if (this.clock === undefined) this.measureClock().catch(() => {});
  }

  private async measureClock(): Promise<void> {
    const before = Date.now();
    const [s, us] = await this.redis.time();
    const after = Date.now();
    this.offsetMs = Number(s) * 1000 + Math.floor(Number(us) / 1000) - (before + after) / 2;
  }
}
