import { randomBytes } from 'node:crypto';
import type { MessageId, Millis } from '../../shared/engine/units';
import { InvalidRequest } from '../../shared/protocol/invalid-request';
import { parsePublish, type HeaderBag, type ParsedPublish } from '../../shared/protocol/publish';
import { after, attempt, type MaybePromise } from '../store/flow-store';
import { jsonCodec, MemoryRecords, type Collection, type Records } from '../store/records';
import { chain, updateRecord } from '../store/update-record';
import { Background, Poller } from './background';
import { nextTick, parseCron, type CronSpec } from './cron';
import { systemTimers, type Clock, type Timers } from './types';

/** setTimeout's longest delay; a later tick is re-armed when this one fires. */
const MAX_TIMER_DELAY = 2_147_483_647;
/** Headers a schedule does not keep for its messages: its own, and the client's telemetry. */
const NOT_KEPT = /^upstash-(cron|schedule-id|telemetry-.*)$/;

/** A schedule as stored; the API describes it from these fields. A value read is a copy. */
export interface Schedule {
  readonly scheduleId: string;
  /** `Upstash-Cron` as given (with its `CRON_TZ=` prefix). */
  readonly cron: string;
  readonly spec: CronSpec;
  /** Raw, with its query string, as after `/v2/publish/`. */
  readonly destination: string;
  /** The publish headers each tick's message is published with (lower-case names). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  /** The headers as read at creation: what each message will carry (for describing it). */
  readonly template: ParsedPublish;
  readonly createdAt: Millis;
  readonly isPaused: boolean;
  /** The next tick while not paused. */
  readonly nextScheduleTime?: Millis;
  /** When it last fired. */
  readonly lastScheduleTime?: Millis;
  /** The message(s) its last tick published (none until that tick's publish is done). */
  readonly lastMessageIds: readonly MessageId[];
}

/** What the records keep: all but the template, which is re-derived when read. */
type StoredSchedule = Omit<Schedule, 'template'>;

export interface SchedulesOptions {
  clock: Clock;
  timers?: Timers;
  /** Where the schedules live (collection `schedules`); this process's memory by default. */
  records?: Records;
  /**
   * With records shared between servers (Redis): how often this server re-reads them to arm its
   * timers for the schedules other servers created, changed or deleted. 1 s by default.
   */
  pollMs?: number;
  /** Publishes one tick's message, as `POST /v2/publish/{destination}` would. */
  publish: (parsed: ParsedPublish) => MaybePromise<{ messageId: MessageId }>;
  /** Told when a tick could not publish (the schedule keeps its next ticks). */
  onError?: (scheduleId: string, err: unknown) => void;
  /** Told when the records could not be read or written outside a request (a poll, a tick). */
  warn?: (msg: string, err: unknown) => void;
  newId?: () => string;
}

export const randomScheduleId = (): string => `scd_${randomBytes(15).toString('base64url')}`;

/** Tries to claim one tick before leaving it to the next poll (each failure is another server's). */
const MAX_TRIES = 10;

function toSchedule(doc: StoredSchedule): Schedule {
  // parsePublish is a function of these four: the same template as at creation.
  return { ...doc, template: parsePublish(doc.destination, doc.headers, doc.body, doc.createdAt) };
}

/** The doc with its next tick set, or removed when there is none. */
function withNext(doc: StoredSchedule, next: Millis | null | undefined): StoredSchedule {
  const { nextScheduleTime: _, ...rest } = doc;
  return next === null || next === undefined ? rest : { ...rest, nextScheduleTime: next };
}

/**
 * QStash schedules: each publishes one message at every tick of its cron expression (not while
 * paused), exactly as a publish with its stored headers and body at that instant would.
 *
 * The schedules live in the records (shared by every server on one Redis); each server arms one
 * timer per schedule, through the injected clock and timers. When a timer fires, the server reads
 * the schedule again and claims the tick with a compare-and-set that moves `nextScheduleTime` on:
 * of the servers whose timers fired for one tick, only the one whose write lands publishes; the
 * others find the tick taken (or the schedule paused, changed or deleted) and re-arm from what
 * they read. On shared records every server re-reads the collection every `pollMs` to arm for the
 * schedules another server created or changed; on memory every change is made here, so none is.
 *
 * A tick that comes late (the machine slept, or every server was down over it) publishes once
 * when it is found, then the schedule keeps to its cron from then on: missed ticks are not made
 * up. QStash skips a missed tick instead; telling "missed" from "merely late" (another server
 * about to claim it) would need a grace period, and one late message errs on the side of a job
 * that runs rather than one that silently does not.
 */
export class Schedules {
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly publish: SchedulesOptions['publish'];
  private readonly onError: NonNullable<SchedulesOptions['onError']>;
  private readonly warn: NonNullable<SchedulesOptions['warn']>;
  private readonly newId: () => string;
  private readonly docs: Collection<StoredSchedule>;
  /** True when other servers may change the records: then they are polled. */
  private readonly shared: boolean;
  /** Each schedule's timer on this server, and the tick it is armed for. */
  private readonly armed = new Map<string, { handle: unknown; at: Millis }>();
  /** Store operations under way, which `close` waits for. */
  private readonly background: Background;
  private readonly poller: Poller<StoredSchedule>;
  /**
   * The schedules this server armed or disarmed from a fresher read than a poll under way may
   * have: `version` is bumped at each, and a poll leaves alone the ids changed after it began.
   */
  private version = 0;
  private readonly changed = new Map<string, number>();
  private closed = false;

  constructor(options: SchedulesOptions) {
    this.clock = options.clock;
    this.timers = options.timers ?? systemTimers;
    this.publish = options.publish;
    this.onError = options.onError ?? (() => {});
    this.warn = options.warn ?? (() => {});
    this.newId = options.newId ?? randomScheduleId;
    const records = options.records ?? new MemoryRecords();
    this.docs = records.collection('schedules', jsonCodec<StoredSchedule>());
    this.shared = records.kind !== 'memory';
    this.background = new Background((msg, err) => this.warn(msg, err));
    this.poller = new Poller({
      timers: this.timers,
      repeat: this.shared,
      everyMs: options.pollMs ?? 1000,
      what: 'the schedules could not be read',
      background: this.background,
      list: () => this.docs.list(),
      version: () => this.version,
      sync: (docs, since) => this.sync(docs, since),
    });
    // Arms for the schedules there already (after a restart, they tick again).
    this.poller.start();
  }

  /**
   * Creates a schedule, or replaces the one under `Upstash-Schedule-Id` (keeping its place in the
   * list). Everything is checked first (cron, id, destination, every publish header): bad input
   * throws `InvalidRequest` and changes nothing.
   */
  create(
    destination: string,
    headers: HeaderBag,
    body: Uint8Array | string | undefined,
  ): MaybePromise<{ scheduleId: string }> {
    if (destination === '')
      throw new InvalidRequest('destination is missing: POST /v2/schedules/{destination}');
    const now = this.clock.now();
    const cron = headers['upstash-cron'];
    const spec = parseCron(cron);
    const first = nextTick(spec, now);
    if (first === null) throw new InvalidRequest(`Upstash-Cron "${cron}" has no future tick`);
    const givenId = headers['upstash-schedule-id'];
    if (givenId !== undefined && !/^[^\s/?#%]{1,256}$/.test(givenId)) {
      throw new InvalidRequest(
        `Upstash-Schedule-Id must be 1 to 256 characters without spaces, "/", "?", "#" or "%", got "${givenId}"`,
      );
    }
    const kept: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined || NOT_KEPT.test(name)) continue;
      if (name.startsWith('upstash-') || name === 'content-type') kept[name] = value;
    }
    const template = parsePublish(destination, kept, body, now);
    const scheduleId = givenId ?? this.newId();
    // A schedule created again under its id is replaced whole: a new schedule, not paused.
    const doc: StoredSchedule = {
      scheduleId,
      cron: cron!,
      spec,
      destination,
      headers: kept,
      ...(template.payload.body !== undefined ? { body: template.payload.body } : {}),
      createdAt: now,
      isPaused: false,
      nextScheduleTime: first,
      lastMessageIds: [],
    };
    return after(this.docs.put(scheduleId, doc), () => {
      this.armFor(doc);
      return { scheduleId };
    });
  }

  get(scheduleId: string): MaybePromise<Schedule | undefined> {
    return after(this.docs.get(scheduleId), (doc) =>
      doc === undefined ? undefined : toSchedule(doc),
    );
  }

  /** Every schedule, in the order they were first created. */
  list(): MaybePromise<Schedule[]> {
    return after(this.docs.list(), (docs) => docs.map(toSchedule));
  }

  /** False when unknown. */
  delete(scheduleId: string): MaybePromise<boolean> {
    return after(this.docs.delete(scheduleId), (had) => {
      this.disarm(scheduleId);
      return had;
    });
  }

  /** Stops its ticks (on every server) until resumed; false when unknown. */
  pause(scheduleId: string): MaybePromise<boolean> {
    return this.update(scheduleId, (s) =>
      s.isPaused ? s : { ...withNext(s, undefined), isPaused: true },
    );
  }

  /** Ticks again from the next one after now (missed ticks are not made up); false when unknown. */
  resume(scheduleId: string): MaybePromise<boolean> {
    return this.update(scheduleId, (s) =>
      s.isPaused ? withNext({ ...s, isPaused: false }, nextTick(s.spec, this.clock.now())) : s,
    );
  }

  /**
   * Clears every timer here: the schedules stay readable but this server never fires them again
   * (other servers still do). Resolves once the store operations under way are done.
   */
  close(): MaybePromise<void> {
    this.closed = true;
    this.poller.close();
    for (const { handle } of this.armed.values()) this.timers.clear(handle);
    this.armed.clear();
    return this.settled();
  }

  /** Resolves once nothing this server started (a poll, a tick and its publish) is under way. */
  settled(): MaybePromise<void> {
    return this.background.settled();
  }

  /** Reads, changes and writes a schedule back unless another server changed it meanwhile. */
  private update(id: string, change: (s: StoredSchedule) => StoredSchedule): MaybePromise<boolean> {
    let stored: StoredSchedule | undefined;
    const done = updateRecord(this.docs, id, (cur) => {
      if (cur === undefined) return { next: cur, result: false };
      stored = change(cur);
      return { next: stored, result: true };
    });
    return after(done, (found) => {
      if (stored !== undefined) this.armFor(stored);
      return found;
    });
  }

  /** Arms for what a poll read, except the ids this server changed since the poll began. */
  private sync(docs: StoredSchedule[], since: number): void {
    if (this.closed) return;
    const stale = (id: string) => (this.changed.get(id) ?? 0) > since;
    const seen = new Set<string>();
    for (const doc of docs) {
      seen.add(doc.scheduleId);
      if (!stale(doc.scheduleId)) this.armFor(doc, false);
    }
    for (const id of [...this.armed.keys()])
      if (!seen.has(id) && !stale(id)) this.disarm(id, false);
    for (const [id, v] of this.changed) if (v <= since) this.changed.delete(id);
  }

  /** Arms the schedule's timer for its next tick, unless armed for it already; disarms if none. */
  private armFor(doc: StoredSchedule, fresh = true): void {
    const at = doc.isPaused ? undefined : doc.nextScheduleTime;
    if (at === undefined) return this.disarm(doc.scheduleId, fresh);
    if (this.armed.get(doc.scheduleId)?.at !== at) this.arm(doc.scheduleId, at, fresh);
  }

  /** Arms for the tick at `at`, capped at setTimeout's longest delay (a capped timer re-arms). */
  private arm(id: string, at: Millis, fresh = true): void {
    this.disarm(id, fresh);
    if (this.closed) return;
    const delay = Math.min(MAX_TIMER_DELAY, Math.max(0, at - this.clock.now()));
    const handle = this.timers.set(() => {
      this.armed.delete(id);
      this.background.track(`schedule "${id}" could not tick`, () => this.fire(id));
    }, delay);
    this.armed.set(id, { handle, at });
  }

  /** `fresh`: from a read newer than a poll under way may have made (see `changed`). */
  private disarm(id: string, fresh = true): void {
    if (fresh && this.shared) this.changed.set(id, ++this.version);
    const armed = this.armed.get(id);
    if (armed === undefined) return;
    this.timers.clear(armed.handle);
    this.armed.delete(id);
  }

  /**
   * A timer fired: reads the schedule again (the tick may be taken, the schedule paused, changed
   * or deleted, on any server) and claims the tick if it has come; a capped or early timer re-arms.
   */
  private fire(id: string, tries = 1): MaybePromise<void> {
    return chain(this.docs.get(id), (doc) => {
      if (this.closed) return;
      if (doc === undefined) return this.disarm(id);
      const now = this.clock.now();
      if (doc.isPaused || doc.nextScheduleTime === undefined || now < doc.nextScheduleTime)
        return this.armFor(doc);
      return this.claim(doc, now, tries);
    });
  }

  /**
   * Moves the schedule past its tick if it is still as read: the one server whose write lands
   * publishes the tick; a server whose write does not reads again (it was taken, or changed).
   */
  private claim(doc: StoredSchedule, now: Millis, tries: number): MaybePromise<void> {
    const id = doc.scheduleId;
    const claimed = withNext(
      { ...doc, lastScheduleTime: now, lastMessageIds: [] },
      nextTick(doc.spec, now),
    );
    return chain(this.docs.replace(id, doc, claimed), (won) => {
      if (!won) {
        if (tries < MAX_TRIES) return this.fire(id, tries + 1);
        // Left to the next poll, which arms for the schedule as it then is.
        return this.disarm(id);
      }
      // Its destination is told the schedule (`Upstash-Schedule-Id`), as QStash does. A claimed
      // tick is published even if this server closes meanwhile: no other server will.
      const headers = { ...doc.headers, 'upstash-forward-upstash-schedule-id': id };
      const published = attempt<{ messageId: MessageId }, MaybePromise<void>>(
        () => this.publish(parsePublish(doc.destination, headers, doc.body, now)),
        ({ messageId }) => this.record(claimed, [messageId]),
        (err) => this.onError(id, err),
      ) as MaybePromise<void>;
      if (!this.closed) this.armFor(claimed);
      return published;
    });
  }

  /**
   * Sets the tick's message ids on the schedule, unless it was deleted, created again or has
   * ticked since (then they are not its last tick's); retried when another server changed it.
   */
  private record(claimed: StoredSchedule, ids: MessageId[]): MaybePromise<void> {
    return updateRecord(this.docs, claimed.scheduleId, (cur) => {
      const same =
        cur !== undefined &&
        cur.createdAt === claimed.createdAt &&
        cur.lastScheduleTime === claimed.lastScheduleTime;
      return { next: same ? { ...cur, lastMessageIds: ids } : cur, result: undefined };
    });
  }
}
