import Denque from 'denque';
import TinyQueue from 'tinyqueue';
import type { EngineEvent, WaitReason } from '../events';
import { seededRandom, type RandomSource } from './random';
import { DEFAULT_RETRIES, defaultBackoff } from './retry';
import { KeyState, MessageRecord } from './state';
import type {
  AttemptResult,
  EngineCommand,
  EngineOptions,
  EngineSnapshot,
  EngineStats,
  FlowConfig,
  HandoffPolicy,
  KeySnapshot,
  MessageView,
  PinInput,
  PublishInput,
  UnpinInput,
} from './types';
import { validateConfig, validateDelay, validateLimit } from './validate';
import { windowAt } from './rate-window';
import { DEFAULT_PERIOD, GLOBAL_KEY, ms, type KeyId, type MessageId, type Millis } from './units';

/** Told of each start as it happens: the message, its key, its attempt (retries so far), its data. */
export type StartHandler = (id: MessageId, key: KeyId, attempt: number, data: unknown) => void;

/** A wake-up: a delayed or retrying message becoming ready, or a key's rate window rolling over. */
interface Timer {
  at: number;
  msg: MessageRecord | null;
  key: KeyState | null;
}

/**
 * The flow-control engine: every rule of the design's "Engine semantics", and nothing else.
 *
 * It owns no clock, timer, randomness or I/O: each command takes `now` and returns the events it
 * caused, in order. The caller (the server's controller, a test, the browser preview) starts a
 * delivery for every `token:acquired` / `token:handed-off`, reports its end with `finish`, and calls
 * `tick` at `nextWakeAt()`. State is mutated in place for speed; given the same commands, times and
 * seed, the events are always the same.
 */
export class FlowEngine {
  readonly policy: HandoffPolicy;
  readonly stats: EngineStats = { accepted: 0, delivered: 0, dead: 0, cancelled: 0 };
  private readonly keyStates = new Map<KeyId, KeyState>();
  private readonly messages = new Map<MessageId, MessageRecord>();
  private readonly timers = new TinyQueue<Timer>([], (a, b) => a.at - b.at);
  /** Keys whose head waits only for a global slot, in the order they began to wait. */
  private readonly globalQueue = new Denque<KeyState>();
  private globalMax: number | null;
  private globalInFlight = 0;
  private readonly rng: RandomSource;
  private readonly randomWindow: number;
  private seq = 0;
  private out: EngineEvent[] = [];
  private startHandler: StartHandler | null = null;

  constructor(options: EngineOptions = {}) {
    this.policy = options.policy ?? 'fifo';
    this.globalMax = options.globalParallelism ?? null;
    if (this.globalMax !== null) validateLimit('global parallelism', this.globalMax);
    this.rng = seededRandom(options.seed ?? 1);
    this.randomWindow = options.randomWindow ?? 8;
  }

  /**
   * Registers the one handler told of every start, synchronously, as it happens, with the message's
   * data: the server begins the delivery there. The same start is also in the returned events; the
   * handler exists so the caller needs no id lookup (in a map of a million waiting messages, a cache
   * miss per start) and so a handed-off token's next delivery begins without delay.
   */
  onStart(handler: StartHandler | null): void {
    this.startHandler = handler;
  }

  /** The `seq` of the last event emitted (0 before any). */
  get lastSeq(): number {
    return this.seq;
  }

  get globalParallelism(): number | null {
    return this.globalMax;
  }

  get globalInFlightCount(): number {
    return this.globalInFlight;
  }

  // ── commands ────────────────────────────────────────────────────────────────────────────────

  /**
   * Takes a message in. It starts now if every limit allows, otherwise it waits; never rejected for
   * a limit. `data` is kept, unread, until the message ends (see `dataOf`).
   */
  publish(input: PublishInput, now: Millis, data?: unknown): EngineEvent[] {
    if (this.messages.has(input.id)) throw new Error(`message ${input.id} is already accepted`);
    if (input.config !== undefined) validateConfig(input.config);
    const retries = input.retries ?? DEFAULT_RETRIES;
    if (!Number.isInteger(retries) || retries < 0)
      throw new RangeError(`retries must be an integer ≥ 0`);
    const k = this.keyFor(input.key ?? GLOBAL_KEY, now);
    const delayed = input.notBefore !== undefined && input.notBefore > now;
    const state = delayed ? 'scheduled' : 'waiting';
    const m = new MessageRecord(input.id, k, retries, now, state, data);
    this.messages.set(m.id, m);
    this.stats.accepted++;
    this.out.push({
      type: 'message:accepted',
      seq: ++this.seq,
      at: now,
      key: k.id,
      messageId: m.id,
      ...(delayed ? { notBefore: input.notBefore } : {}),
    });
    if (input.key !== undefined && input.config !== undefined)
      this.configureFromMessage(k, input.config, now);
    if (delayed) this.schedule(m, input.notBefore as Millis);
    else this.enterFlow(m, now);
    return this.flush(now);
  }

  /** Reports how an in-flight attempt ended; frees its token (handing it off when a waiter may start). */
  finish(id: MessageId, result: AttemptResult, now: Millis): EngineEvent[] {
    const m = this.messages.get(id);
    if (m === undefined || m.state !== 'in-flight')
      throw new Error(`message ${id} is not in flight`);
    if (!result.ok && result.retryDelayMs !== undefined) {
      validateDelay('retryDelayMs', result.retryDelayMs);
    }
    const k = m.key;
    k.inFlight--;
    this.globalInFlight--;
    k.active.delete(m);
    const durationMs = ms(now - m.startedAt);
    // The token moves first, so a waiter's delivery begins before this attempt's own events are
    // built (handoff latency); the events still come out in order, with the seqs they would have had.
    const retry =
      !result.ok && result.nonRetryable !== true && !m.cancelRequested && m.attempt < m.maxRetries;
    const ownEvents = retry ? 1 : 2;
    const seq0 = this.seq;
    this.seq += ownEvents;
    const mark = this.out.length;
    this.passToken(m, now);
    const tokenEvents = this.out.splice(mark);
    const seqAfter = this.seq;
    this.seq = seq0;
    if (result.ok) {
      this.out.push({
        type: 'delivery:succeeded',
        seq: ++this.seq,
        at: now,
        key: k.id,
        messageId: id,
        attempt: m.attempt,
        status: result.status,
        durationMs,
      });
      this.settle(m, 'delivered', now);
    } else {
      const retryAt = retry
        ? ms(now + (result.retryDelayMs ?? defaultBackoff(m.attempt + 1)))
        : null;
      this.out.push({
        type: 'delivery:failed',
        seq: ++this.seq,
        at: now,
        key: k.id,
        messageId: id,
        attempt: m.attempt,
        status: result.status,
        error: result.error,
        durationMs,
        retryAt,
      });
      if (retryAt !== null) {
        m.attempt++;
        this.schedule(m, retryAt);
        m.state = 'retry-scheduled';
      } else if (m.cancelRequested) {
        this.settle(m, 'cancelled', now);
      } else {
        const why =
          result.nonRetryable === true ? 'non-retryable error' : `${m.attempt + 1} attempts failed`;
        const detail =
          result.status !== undefined ? `status ${result.status}` : (result.error ?? 'failed');
        this.settle(m, 'dead', now, `${why}: ${detail}`);
      }
    }
    this.seq = seqAfter;
    for (const e of tokenEvents) this.out.push(e);
    return this.flush(now);
  }

  /** Runs what is due at `now`: delayed and retrying messages becoming ready, rate windows rolling over. */
  tick(now: Millis): EngineEvent[] {
    return this.flush(now);
  }

  /** Stops new starts for the key; in-flight deliveries finish, new messages wait. */
  pause(key: KeyId, now: Millis): EngineEvent[] {
    const k = this.keyFor(key, now);
    if (!k.paused) {
      k.paused = true;
      this.out.push({ type: 'key:paused', seq: ++this.seq, at: now, key });
    }
    return this.flush(now);
  }

  resume(key: KeyId, now: Millis): EngineEvent[] {
    const k = this.keyFor(key, now);
    if (k.paused) {
      k.paused = false;
      this.out.push({ type: 'key:resumed', seq: ++this.seq, at: now, key });
      this.pump(k, now);
    }
    return this.flush(now);
  }

  /** Fixes parallelism and/or rate+period: messages' configs no longer change them. Resets the rate window. */
  pin(key: KeyId, pin: PinInput, now: Millis): EngineEvent[] {
    if (pin.parallelism === undefined && pin.rate === undefined && pin.periodMs === undefined) {
      throw new RangeError('pin needs at least one of parallelism, rate or period');
    }
    validateConfig(pin);
    const k = this.keyFor(key, now);
    if (pin.parallelism !== undefined) {
      k.parallelism = pin.parallelism;
      k.pinnedParallelism = true;
    }
    if (pin.rate !== undefined || pin.periodMs !== undefined) {
      if (pin.rate !== undefined) k.rate = pin.rate;
      if (pin.periodMs !== undefined) k.periodMs = pin.periodMs;
      k.pinnedRate = true;
    }
    this.restartWindow(k, now);
    this.configured(k, 'pin', now);
    this.pump(k, now);
    return this.flush(now);
  }

  /** Clears pin flags; the key keeps its values until a message brings others. */
  unpin(key: KeyId, unpin: UnpinInput, now: Millis): EngineEvent[] {
    const k = this.keyFor(key, now);
    if (unpin.parallelism === true) k.pinnedParallelism = false;
    if (unpin.rate === true) k.pinnedRate = false;
    this.configured(k, 'unpin', now);
    return this.flush(now);
  }

  /** Zeroes the window's count and starts a new window now. */
  resetRate(key: KeyId, now: Millis): EngineEvent[] {
    const k = this.keyFor(key, now);
    this.restartWindow(k, now);
    this.out.push({ type: 'key:rate-reset', seq: ++this.seq, at: now, key, ratePeriodStart: now });
    this.pump(k, now);
    return this.flush(now);
  }

  /**
   * Cancels a message that has not ended. A waiting or scheduled one ends at once; one in flight
   * finishes its attempt and is not retried. Unknown or ended ids emit nothing.
   */
  cancel(id: MessageId, now: Millis): EngineEvent[] {
    const m = this.messages.get(id);
    if (m !== undefined) {
      const k = m.key;
      if (m.state === 'in-flight') m.cancelRequested = true;
      else {
        if (m.state === 'waiting') k.waitlist.forget();
        else k.scheduled--;
        this.settle(m, 'cancelled', now);
      }
    }
    return this.flush(now);
  }

  setGlobalParallelism(parallelism: number | null, now: Millis): EngineEvent[] {
    if (parallelism !== null) validateLimit('global parallelism', parallelism);
    this.globalMax = parallelism;
    this.out.push({
      type: 'global:configured',
      seq: ++this.seq,
      at: now,
      key: GLOBAL_KEY,
      parallelism,
    });
    this.drainGlobal(now);
    return this.flush(now);
  }

  /** Runs a command given as data. */
  execute(cmd: EngineCommand, now: Millis): EngineEvent[] {
    switch (cmd.type) {
      case 'publish':
        return this.publish(cmd.input, now);
      case 'finish':
        return this.finish(cmd.id, cmd.result, now);
      case 'tick':
        return this.tick(now);
      case 'pause':
        return this.pause(cmd.key, now);
      case 'resume':
        return this.resume(cmd.key, now);
      case 'pin':
        return this.pin(cmd.key, cmd.pin, now);
      case 'unpin':
        return this.unpin(cmd.key, cmd.unpin, now);
      case 'reset-rate':
        return this.resetRate(cmd.key, now);
      case 'cancel':
        return this.cancel(cmd.id, now);
      case 'set-global-parallelism':
        return this.setGlobalParallelism(cmd.parallelism, now);
    }
  }

  // ── queries ─────────────────────────────────────────────────────────────────────────────────

  /** The earliest instant at which `tick` has something to do, or null. */
  nextWakeAt(): Millis | null {
    let t = this.timers.peek();
    while (t !== undefined && this.isStale(t)) {
      this.timers.pop();
      t = this.timers.peek();
    }
    return t === undefined ? null : ms(t.at);
  }

  /** A message that has not ended (ended messages are forgotten; the server keeps their history). */
  getMessage(id: MessageId): MessageView | undefined {
    const m = this.messages.get(id);
    if (m === undefined) return undefined;
    const timed = m.state === 'scheduled' || m.state === 'retry-scheduled';
    return {
      id: m.id,
      key: m.key.id,
      state: m.state,
      attempt: m.attempt,
      maxRetries: m.maxRetries,
      acceptedAt: m.acceptedAt,
      readyAt: m.state === 'waiting' || m.state === 'in-flight' ? m.readyAt : null,
      startedAt: m.state === 'in-flight' ? m.startedAt : null,
      dueAt: timed ? m.dueAt : null,
    };
  }

  /** The `data` given to `publish` for a message that has not ended; undefined once it has. */
  dataOf(id: MessageId): unknown {
    return this.messages.get(id)?.data;
  }

  hasKey(key: KeyId): boolean {
    return this.keyStates.has(key);
  }

  /** One key as it stands at `now`, with at most `waitlistLimit` waiters listed. */
  getKey(key: KeyId, now: Millis, waitlistLimit = 100): KeySnapshot | undefined {
    const k = this.keyStates.get(key);
    return k === undefined ? undefined : this.describe(k, now, waitlistLimit);
  }

  keyIds(): IterableIterator<KeyId> {
    return this.keyStates.keys();
  }

  /** Why the key's next waiter cannot start at `now`, or null. Does not change state. */
  blockedBy(key: KeyId, now: Millis): WaitReason | null {
    const k = this.keyStates.get(key);
    return k === undefined || k.waitlist.size === 0 ? null : this.reasonAt(k, now);
  }

  snapshot(now: Millis, waitlistLimit = 100): EngineSnapshot {
    const keys: KeySnapshot[] = [];
    for (const k of this.keyStates.values()) keys.push(this.describe(k, now, waitlistLimit));
    return {
      globalParallelism: this.globalMax,
      globalInFlight: this.globalInFlight,
      keys,
      stats: { ...this.stats },
    };
  }

  // ── rules ───────────────────────────────────────────────────────────────────────────────────

  private keyFor(id: KeyId, now: Millis): KeyState {
    let k = this.keyStates.get(id);
    if (k === undefined) {
      k = new KeyState(id, now);
      this.keyStates.set(id, k);
    }
    return k;
  }

  /** The latest message's config becomes the key's, except the parts that are pinned. */
  private configureFromMessage(k: KeyState, cfg: FlowConfig, now: Millis): void {
    let changed = false;
    if (!k.pinnedParallelism) {
      const p = cfg.parallelism ?? null;
      if (p !== k.parallelism) {
        k.parallelism = p;
        changed = true;
      }
    }
    if (!k.pinnedRate) {
      const r = cfg.rate ?? null;
      const period = cfg.periodMs ?? DEFAULT_PERIOD;
      if (r !== k.rate || period !== k.periodMs) {
        if (period !== k.periodMs) this.changePeriod(k, period, now);
        k.rate = r;
        changed = true;
      }
    }
    if (changed) {
      this.configured(k, 'message', now);
      this.pump(k, now);
    }
  }

  /**
   * A new period keeps the window holding `now` (start and count) while the new period still covers
   * `now`; otherwise a new window starts now. Re-anchoring on the old grid (`roll` with the new
   * period) could land on a start before `now` with its count zeroed, forgetting starts already in it.
   */
  private changePeriod(k: KeyState, period: Millis, now: Millis): void {
    this.roll(k, now);
    k.periodMs = period;
    if (now >= k.windowStart + period) this.restartWindow(k, now);
  }

  private configured(k: KeyState, source: 'message' | 'pin' | 'unpin', now: Millis): void {
    this.roll(k, now);
    this.out.push({
      type: 'key:configured',
      seq: ++this.seq,
      at: now,
      key: k.id,
      source,
      parallelism: k.parallelism,
      rate: k.rate,
      periodMs: k.periodMs,
      pinnedParallelism: k.pinnedParallelism,
      pinnedRate: k.pinnedRate,
      ratePeriodStart: k.windowStart,
      rateCount: k.rateCount,
    });
  }

  private restartWindow(k: KeyState, now: Millis): void {
    k.rateCount = 0;
    k.windowStart = now;
    k.windowTimerAt = 0;
  }

  /** Advances the key's fixed window to the one holding `now`. */
  private roll(k: KeyState, now: Millis): void {
    if (now >= k.windowStart + k.periodMs) {
      const w = windowAt(k.windowStart, k.periodMs, k.rateCount, now);
      k.windowStart = w.start;
      k.rateCount = w.count;
    }
  }

  /** Why `k`'s head cannot start at `now` (null: it can). Rolls the window; changes nothing else. */
  private blocked(k: KeyState, now: Millis): WaitReason | null {
    this.roll(k, now);
    return this.reasonAt(k, now);
  }

  private reasonAt(k: KeyState, now: Millis): WaitReason | null {
    if (k.paused) return 'paused';
    if (k.parallelism !== null && k.inFlight >= k.parallelism) return 'parallelism';
    if (k.rate !== null && windowAt(k.windowStart, k.periodMs, k.rateCount, now).count >= k.rate) {
      return 'rate';
    }
    if (this.globalMax !== null && this.globalInFlight >= this.globalMax) return 'global';
    return null;
  }

  /** A ready message (new, due after a delay, or retrying) starts now or joins the back of the waitlist. */
  private enterFlow(m: MessageRecord, now: Millis): void {
    const k = m.key;
    m.state = 'waiting';
    m.readyAt = now;
    let reason = this.blocked(k, now);
    if (reason === null && k.waitlist.size > 0) {
      this.pump(k, now);
      reason = this.blocked(k, now);
    }
    if (reason === null) {
      this.start(m, now, null);
      return;
    }
    m.reason = reason;
    k.waitlist.push(m);
    this.out.push({
      type: 'message:waitlisted',
      seq: ++this.seq,
      at: now,
      key: k.id,
      messageId: m.id,
      reason,
      position: k.waitlist.size,
    });
    this.onBlocked(k, reason);
  }

  private start(m: MessageRecord, now: Millis, from: MessageRecord | null): void {
    const k = m.key;
    m.state = 'in-flight';
    m.startedAt = now;
    k.inFlight++;
    this.globalInFlight++;
    k.active.add(m);
    this.roll(k, now);
    k.rateCount++;
    // The delivery begins before the event is built: nothing stands between a release and the next start.
    if (this.startHandler !== null) this.startHandler(m.id, k.id, m.attempt, m.data);
    const waitedMs = ms(now - m.readyAt);
    const rated = k.rate !== null;
    if (from === null) {
      this.out.push({
        type: 'token:acquired',
        seq: ++this.seq,
        at: now,
        key: k.id,
        messageId: m.id,
        attempt: m.attempt,
        inFlight: k.inFlight,
        rateCount: rated ? k.rateCount : undefined,
        ratePeriodStart: rated ? k.windowStart : undefined,
        waitedMs,
      });
    } else {
      this.out.push({
        type: 'token:handed-off',
        seq: ++this.seq,
        at: now,
        key: k.id,
        from: from.id,
        to: m.id,
        attempt: m.attempt,
        waitedMs,
        rateCount: rated ? k.rateCount : undefined,
        ratePeriodStart: rated ? k.windowStart : undefined,
      });
    }
  }

  private takeWaiter(k: KeyState): MessageRecord | undefined {
    return this.policy === 'random'
      ? k.waitlist.takeRandom(this.rng, this.randomWindow)
      : k.waitlist.shift();
  }

  /** Starts waiters of `k` while every limit allows; notes what blocks the rest. */
  private pump(k: KeyState, now: Millis): void {
    while (k.waitlist.size > 0) {
      const reason = this.blocked(k, now);
      if (reason !== null) {
        this.onBlocked(k, reason);
        return;
      }
      const m = this.takeWaiter(k);
      if (m === undefined) return;
      this.start(m, now, null);
    }
  }

  /**
   * The token of a delivery that just ended: handed straight to a waiter of its key that may start
   * now, or back to the pool. When other keys wait for a global slot, the key takes its turn behind them.
   */
  private passToken(from: MessageRecord, now: Millis): void {
    const k = from.key;
    if (k.waitlist.size > 0) {
      const reason = this.blocked(k, now);
      if (reason === null && !this.otherKeyFirstForGlobal(k, now)) {
        const next = this.takeWaiter(k);
        if (next !== undefined) {
          this.start(next, now, from);
          this.pump(k, now);
          return;
        }
      }
      if (reason === null) this.queueForGlobal(k);
      else this.onBlocked(k, reason);
    }
    this.out.push({
      type: 'token:released',
      seq: ++this.seq,
      at: now,
      key: k.id,
      messageId: from.id,
      inFlight: k.inFlight,
    });
    this.drainGlobal(now);
  }

  /**
   * Whether another key is first in line for a global slot, so `k` must not hand its token to its own
   * waiter. Entries at the front that no longer wait for a slot (nothing waiting, or blocked by
   * something else) are dropped on the way, as `drainGlobal` would. When `k` itself is first in line,
   * the handoff is its turn: it leaves the queue (and rejoins at the back if it is still blocked).
   */
  private otherKeyFirstForGlobal(k: KeyState, now: Millis): boolean {
    if (this.globalMax === null) return false;
    for (
      let head = this.globalQueue.peekFront();
      head !== undefined;
      head = this.globalQueue.peekFront()
    ) {
      this.globalQueue.shift();
      head.inGlobalQueue = false;
      if (head === k) return false;
      if (head.waitlist.size === 0) continue;
      const reason = this.blocked(head, now);
      if (reason === null || reason === 'global') {
        this.globalQueue.unshift(head);
        head.inGlobalQueue = true;
        return true;
      }
      this.onBlocked(head, reason);
    }
    return false;
  }

  private onBlocked(k: KeyState, reason: WaitReason): void {
    if (reason === 'rate') {
      const end = k.windowStart + k.periodMs;
      if (k.windowTimerAt !== end) {
        k.windowTimerAt = end;
        this.timers.push({ at: end, msg: null, key: k });
      }
    } else if (reason === 'global') {
      this.queueForGlobal(k);
    }
  }

  private queueForGlobal(k: KeyState): void {
    if (!k.inGlobalQueue) {
      k.inGlobalQueue = true;
      this.globalQueue.push(k);
    }
  }

  /** Gives free global slots to the keys waiting for one, one start per key per turn. */
  private drainGlobal(now: Millis): void {
    while (
      this.globalQueue.length > 0 &&
      (this.globalMax === null || this.globalInFlight < this.globalMax)
    ) {
      const k = this.globalQueue.shift() as KeyState;
      k.inGlobalQueue = false;
      if (k.waitlist.size === 0) continue;
      const reason = this.blocked(k, now);
      if (reason !== null) {
        this.onBlocked(k, reason);
        continue;
      }
      const m = this.takeWaiter(k);
      if (m !== undefined) this.start(m, now, null);
      if (k.waitlist.size > 0) {
        const next = this.blocked(k, now);
        if (next === null) this.queueForGlobal(k);
        else this.onBlocked(k, next);
      }
    }
  }

  private schedule(m: MessageRecord, at: Millis): void {
    m.dueAt = at;
    m.key.scheduled++;
    this.timers.push({ at, msg: m, key: null });
  }

  private isStale(t: Timer): boolean {
    if (t.msg !== null) {
      const s = t.msg.state;
      return !((s === 'scheduled' || s === 'retry-scheduled') && t.msg.dueAt === t.at);
    }
    return t.key === null || t.key.windowTimerAt !== t.at;
  }

  private runDue(now: Millis): void {
    let t = this.timers.peek();
    while (t !== undefined && t.at <= now) {
      this.timers.pop();
      if (!this.isStale(t)) {
        if (t.msg !== null) {
          t.msg.key.scheduled--;
          this.enterFlow(t.msg, now);
        } else if (t.key !== null) {
          t.key.windowTimerAt = 0;
          this.pump(t.key, now);
        }
      }
      t = this.timers.peek();
    }
  }

  /** Ends a message for good. */
  private settle(
    m: MessageRecord,
    state: 'delivered' | 'dead' | 'cancelled',
    now: Millis,
    reason = '',
  ): void {
    m.state = state;
    this.messages.delete(m.id);
    const seq = ++this.seq;
    const key = m.key.id;
    if (state === 'delivered') {
      this.stats.delivered++;
      this.out.push({ type: 'message:delivered', seq, at: now, key, messageId: m.id });
    } else if (state === 'dead') {
      this.stats.dead++;
      this.out.push({ type: 'message:dead-lettered', seq, at: now, key, messageId: m.id, reason });
    } else {
      this.stats.cancelled++;
      this.out.push({ type: 'message:cancelled', seq, at: now, key, messageId: m.id });
    }
  }

  /** Every command ends here: what became due runs, and the command's events are handed back. */
  private flush(now: Millis): EngineEvent[] {
    this.runDue(now);
    const out = this.out;
    this.out = [];
    return out;
  }

  private describe(k: KeyState, now: Millis, waitlistLimit: number): KeySnapshot {
    const w = windowAt(k.windowStart, k.periodMs, k.rateCount, now);
    return {
      key: k.id,
      parallelism: k.parallelism,
      rate: k.rate,
      periodMs: k.periodMs,
      pinnedParallelism: k.pinnedParallelism,
      pinnedRate: k.pinnedRate,
      paused: k.paused,
      inFlight: k.inFlight,
      rateCount: w.count,
      ratePeriodStart: w.start,
      waitListSize: k.waitlist.size,
      scheduled: k.scheduled,
      blockedBy: k.waitlist.size === 0 ? null : this.reasonAt(k, now),
      active: [...k.active].map((m) => ({
        messageId: m.id,
        attempt: m.attempt,
        startedAt: m.startedAt,
      })),
      waiting: k.waitlist.list(waitlistLimit).map((m) => ({
        messageId: m.id,
        attempt: m.attempt,
        readyAt: m.readyAt,
        reason: m.reason,
      })),
    };
  }
}
