import { randomBytes } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import type { MessageId, Millis } from '../../shared/engine/units';
import { InvalidRequest } from '../../shared/protocol/invalid-request';
import { parsePublish, type HeaderBag, type ParsedPublish } from '../../shared/protocol/publish';
import { attempt, type MaybePromise } from '../store/flow-store';
import { systemTimers, type Clock, type Timers } from './types';

/** setTimeout's longest delay; a later tick is re-armed when this one fires. */
const MAX_TIMER_DELAY = 2_147_483_647;
const CRON_FIELDS = 'minute hour day-of-month month day-of-week';
const CRON_HELP = `a 5-field cron expression (${CRON_FIELDS}) like "*/5 * * * *", optionally prefixed "CRON_TZ=<IANA zone> "`;
/** Headers a schedule does not keep for its messages: its own, and the client's telemetry. */
const NOT_KEPT = /^upstash-(cron|schedule-id|telemetry-.*)$/;

/** A parsed `Upstash-Cron`: the five fields and the zone they are read in. */
export interface CronSpec {
  expression: string;
  tz: string;
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads `Upstash-Cron`: five fields (QStash has no seconds field), optionally prefixed
 * `CRON_TZ=<IANA zone> `; UTC otherwise. Throws `InvalidRequest` saying what is wrong.
 */
export function parseCron(raw: string | undefined): CronSpec {
  if (raw === undefined || raw.trim() === '')
    throw new InvalidRequest(`Upstash-Cron is required: ${CRON_HELP}`);
  let text = raw.trim();
  let tz = 'UTC';
  const zoned = /^CRON_TZ=(\S*)\s*(.*)$/.exec(text);
  if (zoned !== null) {
    tz = zoned[1]!;
    text = zoned[2]!;
    if (tz === '' || !isTimeZone(tz))
      throw new InvalidRequest(`Upstash-Cron: "${tz}" in CRON_TZ is not an IANA time zone`);
  }
  const fields = text === '' ? [] : text.split(/\s+/);
  if (fields.length !== 5) {
    const seconds = fields.length === 6 ? ' (a seconds field is not supported)' : '';
    throw new InvalidRequest(
      `Upstash-Cron must have 5 fields (${CRON_FIELDS}), got ${fields.length} in "${raw}"${seconds}`,
    );
  }
  const spec = { expression: fields.join(' '), tz };
  try {
    CronExpressionParser.parse(spec.expression, { tz });
  } catch (err) {
    throw new InvalidRequest(
      `Upstash-Cron "${raw}" is not a valid cron expression: ${(err as Error).message}`,
    );
  }
  return spec;
}

/** The first tick strictly after `after`, or null when the expression has none. */
export function nextTick(spec: CronSpec, after: number): Millis | null {
  try {
    const at = CronExpressionParser.parse(spec.expression, { currentDate: after, tz: spec.tz })
      .next()
      .getTime();
    return Number.isFinite(at) ? (at as Millis) : null;
  } catch {
    return null;
  }
}

/** A schedule as stored; the API describes it from these fields. */
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
  isPaused: boolean;
  /** The next tick while not paused. */
  nextScheduleTime?: Millis;
  /** When it last fired. */
  lastScheduleTime?: Millis;
  /** The message(s) its last tick published. */
  lastMessageIds: MessageId[];
}

export interface SchedulesOptions {
  clock: Clock;
  timers?: Timers;
  /** Publishes one tick's message, as `POST /v2/publish/{destination}` would. */
  publish: (parsed: ParsedPublish) => MaybePromise<{ messageId: MessageId }>;
  /** Told when a tick could not publish (the schedule keeps its next ticks). */
  onError?: (scheduleId: string, err: unknown) => void;
  newId?: () => string;
}

export const randomScheduleId = (): string => `scd_${randomBytes(15).toString('base64url')}`;

/**
 * QStash schedules, in memory: each publishes one message at every tick of its cron expression
 * (not while paused), exactly as a publish with its stored headers and body at that instant would.
 * One timer per schedule, armed through the injected clock and timers.
 */
export class Schedules {
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly publish: SchedulesOptions['publish'];
  private readonly onError: NonNullable<SchedulesOptions['onError']>;
  private readonly newId: () => string;
  private readonly schedules = new Map<string, Schedule>();
  private readonly handles = new Map<string, unknown>();
  private closed = false;

  constructor(options: SchedulesOptions) {
    this.clock = options.clock;
    this.timers = options.timers ?? systemTimers;
    this.publish = options.publish;
    this.onError = options.onError ?? (() => {});
    this.newId = options.newId ?? randomScheduleId;
  }

  /**
   * Creates a schedule, or replaces the one under `Upstash-Schedule-Id`. Everything is checked
   * first (cron, id, destination, every publish header): bad input throws `InvalidRequest` and
   * changes nothing.
   */
  create(
    destination: string,
    headers: HeaderBag,
    body: Uint8Array | string | undefined,
  ): { scheduleId: string } {
    if (destination === '')
      throw new InvalidRequest('destination is missing: POST /v2/schedules/{destination}');
    const now = this.clock.now();
    const cron = headers['upstash-cron'];
    const spec = parseCron(cron);
    if (nextTick(spec, now) === null)
      throw new InvalidRequest(`Upstash-Cron "${cron}" has no future tick`);
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
    this.disarm(scheduleId);
    const schedule: Schedule = {
      scheduleId,
      cron: cron!,
      spec,
      destination,
      headers: kept,
      ...(template.payload.body !== undefined ? { body: template.payload.body } : {}),
      template,
      createdAt: now,
      isPaused: false,
      lastMessageIds: [],
    };
    this.schedules.delete(scheduleId);
    this.schedules.set(scheduleId, schedule);
    this.armNext(schedule);
    return { scheduleId };
  }

  get(scheduleId: string): Readonly<Schedule> | undefined {
    return this.schedules.get(scheduleId);
  }

  /** Every schedule, in creation order. */
  list(): Readonly<Schedule>[] {
    return [...this.schedules.values()];
  }

  /** False when unknown. */
  delete(scheduleId: string): boolean {
    if (!this.schedules.has(scheduleId)) return false;
    this.disarm(scheduleId);
    this.schedules.delete(scheduleId);
    return true;
  }

  /** Stops its ticks until resumed; false when unknown. */
  pause(scheduleId: string): boolean {
    const s = this.schedules.get(scheduleId);
    if (s === undefined) return false;
    s.isPaused = true;
    this.disarm(scheduleId);
    delete s.nextScheduleTime;
    return true;
  }

  /** Ticks again from the next one after now (missed ticks are not made up); false when unknown. */
  resume(scheduleId: string): boolean {
    const s = this.schedules.get(scheduleId);
    if (s === undefined) return false;
    if (s.isPaused) {
      s.isPaused = false;
      this.armNext(s);
    }
    return true;
  }

  /** Clears every timer; the schedules stay readable but never fire again. */
  close(): void {
    this.closed = true;
    for (const h of this.handles.values()) this.timers.clear(h);
    this.handles.clear();
  }

  /** Sets the next tick after now and arms for it. */
  private armNext(s: Schedule): void {
    const at = s.isPaused ? null : nextTick(s.spec, this.clock.now());
    if (at === null) delete s.nextScheduleTime;
    else s.nextScheduleTime = at;
    this.arm(s);
  }

  /** Arms the schedule's timer for its next tick, capped at setTimeout's longest delay. */
  private arm(s: Schedule): void {
    this.disarm(s.scheduleId);
    const at = s.nextScheduleTime;
    if (this.closed || s.isPaused || at === undefined) return;
    const delay = Math.min(MAX_TIMER_DELAY, Math.max(0, at - this.clock.now()));
    this.handles.set(
      s.scheduleId,
      this.timers.set(() => {
        this.handles.delete(s.scheduleId);
        this.due(s);
      }, delay),
    );
  }

  private disarm(scheduleId: string): void {
    const h = this.handles.get(scheduleId);
    if (h === undefined) return;
    this.timers.clear(h);
    this.handles.delete(scheduleId);
  }

  /** A timer fired: publish if the tick has come (a capped or early timer just re-arms). */
  private due(s: Schedule): void {
    if (this.schedules.get(s.scheduleId) !== s || s.isPaused || this.closed) return;
    const now = this.clock.now();
    if (s.nextScheduleTime === undefined) return;
    if (now < s.nextScheduleTime) return this.arm(s);
    s.lastScheduleTime = now;
    // Its destination is told the schedule (`Upstash-Schedule-Id`), as QStash does.
    const headers = { ...s.headers, 'upstash-forward-upstash-schedule-id': s.scheduleId };
    void attempt(
      () => this.publish(parsePublish(s.destination, headers, s.body, now)),
      ({ messageId }) => {
        s.lastMessageIds = [messageId];
      },
      (err) => {
        s.lastMessageIds = [];
        this.onError(s.scheduleId, err);
      },
    );
    if (this.schedules.get(s.scheduleId) === s) this.armNext(s);
  }
}
