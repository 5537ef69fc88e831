import type { EngineEvent, WaitReason } from '../events';
import { EngineCore, type StartHandler } from './core';
import { DEFAULT_RETRIES, defaultBackoff } from './retry';
import { MessageRecord } from './state';
import type {
  Accepted,
  AttemptResult,
  EngineSnapshot,
  KeySnapshot,
  MessageHandle,
  MessageView,
  PinInput,
  PublishInput,
  UnpinInput,
} from './types';
import { validateConfig, validateDelay, validateLimit } from './validate';
import { applyPin, restartWindow } from './key-rules';
import { viewMessage } from './views';
import { GLOBAL_KEY, ms, type KeyId, type Millis } from './units';

export type { StartHandler };

/**
 * The flow-control engine: every rule of the design's "Engine semantics", and nothing else.
 *
 * It owns no clock, timer, randomness or I/O: each command takes `now` and returns the events it
 * caused, in order. The caller (the server's controller, a test, the browser preview) starts a
 * delivery for every start (`onStart`, or the `token:acquired` / `token:handed-off` events), reports
 * its end with `finish`, and calls `tick` at `nextWakeAt()`. Messages are named by the handle
 * `publish` returns (see `MessageHandle`): the engine keeps no id index. State is mutated in place
 * for speed; given the same commands, times and seed, the events are always the same.
 */
export class FlowEngine extends EngineCore {
  /**
   * Registers the one handler told of every start, synchronously, as it happens, with the message's
   * handle: the server begins the delivery there. The same start is also in the returned events; the
   * handler exists so the caller needs no id lookup and so a handed-off token's next delivery begins
   * before the events are even built.
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
   * a limit. `data` is kept on the handle, unread. Ids are the caller's: the engine neither indexes
   * nor checks them.
   */
  publish(input: PublishInput, now: Millis, data?: unknown): Accepted {
    if (input.config !== undefined) validateConfig(input.config);
    const retries = input.retries ?? DEFAULT_RETRIES;
    if (!Number.isInteger(retries) || retries < 0)
      throw new RangeError(`retries must be an integer ≥ 0`);
    const k = this.keyFor(input.key ?? GLOBAL_KEY, now);
    const delayed = input.notBefore !== undefined && input.notBefore > now;
    const state = delayed ? 'scheduled' : 'waiting';
    const m = new MessageRecord(input.id, k, retries, state, data, input.workflow);
    this.stats.accepted++;
    this.out.push({
      type: 'message:accepted',
      seq: ++this.seq,
      at: now,
      key: k.id,
      messageId: m.id,
      ...(delayed ? { notBefore: input.notBefore } : {}),
      ...(input.workflow !== undefined ? { workflow: input.workflow } : {}),
    });
    if (input.key !== undefined && input.config !== undefined)
      this.configureFromMessage(k, input.config, now);
    if (delayed) this.schedule(m, input.notBefore as Millis);
    else this.enterFlow(m, now);
    return { message: m, events: this.flush(now) };
  }

  /** Reports how an in-flight attempt ended; frees its token (handing it off when a waiter may start). */
  finish(message: MessageHandle, result: AttemptResult, now: Millis): EngineEvent[] {
    const m = this.own(message);
    const id = m.id;
    if (m.state !== 'in-flight') throw new Error(`message ${id} is not in flight`);
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
    const tokenEnd = this.out.length;
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
        const tries = m.attempt + 1;
        const why =
          result.nonRetryable === true
            ? 'non-retryable error'
            : `${tries} ${tries === 1 ? 'attempt' : 'attempts'} failed`;
        const detail =
          result.status !== undefined ? `status ${result.status}` : (result.error ?? 'failed');
        this.settle(m, 'dead', now, `${why}: ${detail}`);
      }
    }
    this.seq = seqAfter;
    moveToEnd(this.out, mark, tokenEnd);
    return this.flush(now);
  }

  /** Runs what is due at `now`: delayed and retrying messages becoming ready, rate windows rolling over. */
  tick(now: Millis): EngineEvent[] {
    return this.flush(now);
  }

  /** Stops new starts for the key; in-flight deliveries finish, new messages wait. */
  pause(key: KeyId, now: Millis): EngineEvent[] {
    const k = this.commandedKey(key, now);
    if (!k.paused) {
      k.paused = true;
      this.out.push({ type: 'key:paused', seq: ++this.seq, at: now, key });
    }
    return this.flush(now);
  }

  resume(key: KeyId, now: Millis): EngineEvent[] {
    const k = this.commandedKey(key, now);
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
    const k = this.commandedKey(key, now);
    applyPin(k, pin, now);
    this.configured(k, 'pin', now);
    this.pump(k, now);
    return this.flush(now);
  }

  /** Clears pin flags; the key keeps its values until a message brings others. */
  unpin(key: KeyId, unpin: UnpinInput, now: Millis): EngineEvent[] {
    const k = this.commandedKey(key, now);
    if (unpin.parallelism === true) k.pinnedParallelism = false;
    if (unpin.rate === true) k.pinnedRate = false;
    this.configured(k, 'unpin', now);
    return this.flush(now);
  }

  /** Zeroes the window's count and starts a new window now. */
  resetRate(key: KeyId, now: Millis): EngineEvent[] {
    const k = this.commandedKey(key, now);
    restartWindow(k, now);
    this.out.push({ type: 'key:rate-reset', seq: ++this.seq, at: now, key, ratePeriodStart: now });
    this.pump(k, now);
    return this.flush(now);
  }

  /**
   * Cancels a message that has not ended. A waiting or scheduled one ends at once; one in flight
   * finishes its attempt and is not retried. An ended message emits nothing.
   */
  cancel(message: MessageHandle, now: Millis): EngineEvent[] {
    const m = this.own(message);
    const k = m.key;
    if (m.state === 'in-flight') m.cancelRequested = true;
    else if (m.state === 'waiting' || m.state === 'scheduled' || m.state === 'retry-scheduled') {
      if (m.state === 'waiting') k.waitlist.forget();
      else k.scheduled--;
      this.settle(m, 'cancelled', now);
    }
    return this.flush(now);
  }

  /**
   * Forgets every key idle for `idleMs` or more: nothing waiting, in flight or scheduled, not
   * paused, nothing pinned, and its rate window over (so no start it counted could still hold one
   * back). A later message brings the key back as a new one, configured by that message. Keeps a
   * server with per-user keys from holding every key it ever saw.
   */
  forgetIdleKeys(idleMs: Millis, now: Millis): EngineEvent[] {
    validateDelay('idleMs', idleMs);
    for (const k of this.keyStates.values()) {
      if (k.inFlight > 0 || k.waitlist.size > 0 || k.scheduled > 0) continue;
      if (k.paused || k.pinnedParallelism || k.pinnedRate) continue;
      if (now - k.lastActivityAt < idleMs || now < k.windowStart + k.periodMs) continue;
      // Deleting the entry being visited is safe in a Map iteration.
      this.keyStates.delete(k.id);
      this.out.push({ type: 'key:forgotten', seq: ++this.seq, at: now, key: k.id });
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

  // ── queries ─────────────────────────────────────────────────────────────────────────────────

  /** The earliest instant at which `tick` has something to do, or null. */
  nextWakeAt(): Millis | null {
    return this.wakes.next();
  }

  /** Where a message stands; undefined once it has ended (the server keeps the history). */
  view(message: MessageHandle): MessageView | undefined {
    const m = this.own(message);
    return m.state === 'delivered' || m.state === 'dead' || m.state === 'cancelled'
      ? undefined
      : viewMessage(m);
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

  /** The record behind a handle this engine gave out; any other handle is refused. */
  private own(message: MessageHandle): MessageRecord {
    if (!(message instanceof MessageRecord) || message.key.owner !== this)
      throw new Error(`message ${message.id} was not accepted by this engine`);
    return message;
  }
}

/**
 * Moves `xs[from, to)` after the rest of the array, in place: the token's events, built first, go
 * after the finishing attempt's own (their seqs already say so).
 */
function moveToEnd<T>(xs: T[], from: number, to: number): void {
  const count = to - from;
  const total = xs.length;
  if (count === 0 || to === total) return;
  for (let i = 0; i < count; i++) xs.push(xs[from + i] as T);
  for (let i = from; i < total; i++) xs[i] = xs[i + count] as T;
  for (let i = 0; i < count; i++) xs.pop(); // not `length =`: a runtime call, pop is inlined
}
