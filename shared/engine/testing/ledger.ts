/**
 * A ledger of the engine kept from its events alone: where every message is, what each key has in
 * flight and waiting, when each key started what, and the config the commands call for. Every event
 * is checked against the rules as it is applied (`apply`); `crossCheck` then compares the ledger with
 * what the engine reports about itself. Used by the property tests; not part of the engine.
 */
import type { EngineEvent, TokenAcquired, TokenHandedOff } from '../../events';
import type { FlowEngine } from '../engine';
import { defaultBackoff } from '../retry';
import type { AttemptResult, FlowConfig, HandoffPolicy } from '../types';

export type Place =
  | 'limbo' // accepted, not yet waitlisted or started (must not outlive its command)
  | 'waiting'
  | 'in-flight'
  | 'scheduled'
  | 'retry-scheduled'
  | 'ending' // attempt reported, final event expected in the same command
  | 'delivered'
  | 'dead'
  | 'cancelled';

export const ENDED: ReadonlySet<Place> = new Set(['delivered', 'dead', 'cancelled']);

export interface Msg {
  id: string;
  key: string;
  place: Place;
  attempt: number;
  maxRetries: number;
  dueAt: number;
  readyAt: number;
  cancelRequested: boolean;
  /** Waiters taken from the key's waitlist since this one joined, and its position then. */
  takes: number;
  position: number;
}

export interface KeyModel {
  parallelism: number | null;
  rate: number | null;
  periodMs: number;
  paused: boolean;
  pinnedParallelism: boolean;
  pinnedRate: boolean;
  inFlight: Set<string>;
  waiting: string[];
  scheduled: Set<string>;
  /** Start times since the rate window was last restarted (pin, resetRate). */
  starts: number[];
  lastRestart: number;
  /** In flight over the limit because the limit was lowered (no start may happen while so). */
  over: boolean;
  /** The config the commands alone call for (latest message, except pinned parts). */
  want: KeyConfig;
}

export interface KeyConfig {
  parallelism: number | null;
  rate: number | null;
  periodMs: number;
  pinnedParallelism: boolean;
  pinnedRate: boolean;
}

export class PropertyFailure extends Error {}

export function must(cond: boolean, why: () => string): asserts cond {
  if (!cond) throw new PropertyFailure(why());
}

/** What the current command is about, so the ledger can check each event against its cause. */
export interface Cause {
  publish?: { id: string; key: string; notBefore: number | null; retries: number };
  finishing?: { id: string; result: AttemptResult };
}

export class Ledger {
  readonly msgs = new Map<string, Msg>();
  readonly keys = new Map<string, KeyModel>();
  globalMax: number | null;
  globalOver = false;
  globalInFlight = 0;
  seq = 0;
  now = 0;
  stats = { accepted: 0, delivered: 0, dead: 0, cancelled: 0 };

  constructor(
    readonly engine: FlowEngine,
    readonly policy: HandoffPolicy,
    globalMax: number | null,
    readonly randomWindow: number,
  ) {
    this.globalMax = globalMax;
  }

  key(k: string): KeyModel {
    let m = this.keys.get(k);
    if (m === undefined) {
      m = {
        parallelism: null,
        rate: null,
        periodMs: 1000,
        paused: false,
        pinnedParallelism: false,
        pinnedRate: false,
        inFlight: new Set(),
        waiting: [],
        scheduled: new Set(),
        starts: [],
        lastRestart: this.now,
        over: false,
        want: {
          parallelism: null,
          rate: null,
          periodMs: 1000,
          pinnedParallelism: false,
          pinnedRate: false,
        },
      };
      this.keys.set(k, m);
    }
    return m;
  }

  msg(id: string): Msg {
    const m = this.msgs.get(id);
    must(m !== undefined, () => `event names unknown message ${id}`);
    return m;
  }

  live(): Msg[] {
    return [...this.msgs.values()].filter((m) => !ENDED.has(m.place));
  }

  inFlight(): string[] {
    return [...this.msgs.values()].filter((m) => m.place === 'in-flight').map((m) => m.id);
  }

  private endFlight(m: Msg, k: KeyModel): void {
    must(m.place === 'in-flight', () => `${m.id} ended an attempt while ${m.place}`);
    k.inFlight.delete(m.id);
    this.globalInFlight--;
    if (k.parallelism === null || k.inFlight.size <= k.parallelism) k.over = false;
    if (this.globalMax === null || this.globalInFlight <= this.globalMax) this.globalOver = false;
  }

  private start(e: TokenAcquired | TokenHandedOff, id: string, cause: Cause): void {
    const m = this.msg(id);
    const k = this.key(m.key);
    const what = `${e.type} of ${id} (key ${m.key}) at ${this.now}`;
    must(e.key === m.key, () => `${what}: event key ${e.key}`);
    must(e.attempt === m.attempt, () => `${what}: attempt ${e.attempt}, expected ${m.attempt}`);
    if (e.type === 'token:handed-off') {
      must(
        e.from === cause.finishing?.id,
        () => `${what}: handed off from ${e.from}, not the finishing message`,
      );
      must(m.place === 'waiting', () => `${what}: handed to a message ${m.place}`);
    }
    must(!k.paused, () => `${what}: key is paused`);
    // Parallelism, with the documented exception: over the limit only by lowering it, never by a start.
    must(
      k.parallelism === null || k.inFlight.size < k.parallelism,
      () => `${what}: ${k.inFlight.size} in flight, parallelism ${k.parallelism}`,
    );
    must(
      this.globalMax === null || this.globalInFlight < this.globalMax,
      () => `${what}: ${this.globalInFlight} in flight globally, limit ${this.globalMax}`,
    );
    // Rate: the window the engine reports must be the one holding now, and count every start in it.
    if (k.rate !== null) {
      const count = e.rateCount;
      const start = e.ratePeriodStart;
      must(
        count !== undefined && start !== undefined,
        () => `${what}: no rate window on a rated key`,
      );
      must(count <= k.rate, () => `${what}: rateCount ${count} over rate ${k.rate}`);
      must(
        start <= this.now && this.now < start + k.periodMs && start >= k.lastRestart,
        () => `${what}: window start ${start} (period ${k.periodMs}, restarted ${k.lastRestart})`,
      );
      const seen = k.starts.filter((t) => t >= start).length + 1;
      must(count === seen, () => `${what}: rateCount ${count}, but ${seen} starts since ${start}`);
    } else {
      must(e.rateCount === undefined, () => `${what}: rateCount on a key without rate`);
    }
    if (m.place === 'waiting') {
      must(
        e.type === 'token:handed-off' || !this.released.has(m.key),
        () => `${what}: the key released a token in this command instead of handing it off`,
      );
      const index = k.waiting.indexOf(id);
      const window = this.policy === 'fifo' ? 1 : this.randomWindow;
      must(
        index >= 0 && index < window,
        () => `${what}: taken at waitlist index ${index} (${this.policy})`,
      );
      must(
        e.waitedMs === this.now - m.readyAt,
        () => `${what}: waitedMs ${e.waitedMs}, ready at ${m.readyAt}`,
      );
      k.waiting.splice(index, 1);
      for (const w of k.waiting) this.msg(w).takes++;
      m.takes++;
      must(
        this.policy === 'fifo' || m.takes <= m.position + this.randomWindow,
        () => `${what}: joined at position ${m.position}, started after ${m.takes} takes`,
      );
    } else {
      must(
        ['limbo', 'scheduled', 'retry-scheduled'].includes(m.place),
        () => `${what}: was ${m.place}`,
      );
      must(k.waiting.length === 0, () => `${what}: started ahead of ${k.waiting.length} waiters`);
      must(e.waitedMs === 0, () => `${what}: waitedMs ${e.waitedMs} without waiting`);
      this.becameReady(m, k);
    }
    m.place = 'in-flight';
    k.inFlight.add(id);
    this.globalInFlight++;
    k.starts.push(this.now);
  }

  /** A scheduled message entering flow control. */
  private becameReady(m: Msg, k: KeyModel): void {
    if (m.place === 'scheduled' || m.place === 'retry-scheduled') {
      must(
        this.now >= m.dueAt,
        () => `${m.id} entered flow control at ${this.now}, due ${m.dueAt}`,
      );
      k.scheduled.delete(m.id);
    }
    m.readyAt = this.now;
  }

  /** A message with a config, about to be published on `key`. */
  expectMessageConfig(key: string, c: FlowConfig): void {
    const w = this.key(key).want;
    if (!w.pinnedParallelism) w.parallelism = c.parallelism ?? null;
    if (!w.pinnedRate) {
      w.rate = c.rate ?? null;
      w.periodMs = c.periodMs ?? 1000;
    }
  }

  expectPin(key: string, c: FlowConfig): void {
    const w = this.key(key).want;
    if (c.parallelism !== undefined) {
      w.parallelism = c.parallelism;
      w.pinnedParallelism = true;
    }
    if (c.rate !== undefined || c.periodMs !== undefined) {
      w.rate = c.rate ?? w.rate;
      w.periodMs = c.periodMs ?? w.periodMs;
      w.pinnedRate = true;
    }
  }

  expectUnpin(key: string, parallelism: boolean, rate: boolean): void {
    const w = this.key(key).want;
    if (parallelism) w.pinnedParallelism = false;
    if (rate) w.pinnedRate = false;
  }

  /** Keys that released a token (not handed off) in the current command. */
  private released = new Set<string>();

  apply(events: EngineEvent[], cause: Cause): void {
    this.released.clear();
    for (const e of events) {
      must(e.seq === this.seq + 1, () => `seq ${e.seq} after ${this.seq}`);
      this.seq = e.seq;
      must(e.at === this.now, () => `${e.type} at ${e.at}, command at ${this.now}`);
      switch (e.type) {
        case 'message:accepted': {
          const p = cause.publish;
          must(
            p !== undefined && p.id === e.messageId,
            () => `unexpected accept of ${e.messageId}`,
          );
          must(e.key === p.key, () => `accepted on key ${e.key}, expected ${p.key}`);
          const delayed = p.notBefore !== null && p.notBefore > this.now;
          must(
            (e.notBefore !== undefined) === delayed,
            () => `notBefore ${e.notBefore} for ${p.notBefore}`,
          );
          const m: Msg = {
            id: p.id,
            key: p.key,
            place: delayed ? 'scheduled' : 'limbo',
            attempt: 0,
            maxRetries: p.retries,
            dueAt: delayed ? (p.notBefore ?? 0) : 0,
            readyAt: this.now,
            cancelRequested: false,
            takes: 0,
            position: 0,
          };
          this.msgs.set(m.id, m);
          if (delayed) this.key(m.key).scheduled.add(m.id);
          this.stats.accepted++;
          break;
        }
        case 'message:waitlisted': {
          const m = this.msg(e.messageId);
          const k = this.key(m.key);
          must(
            ['limbo', 'scheduled', 'retry-scheduled'].includes(m.place),
            () => `${m.id} waitlisted while ${m.place}`,
          );
          this.becameReady(m, k);
          m.place = 'waiting';
          m.takes = 0;
          k.waiting.push(m.id);
          m.position = k.waiting.length;
          must(
            e.position === k.waiting.length,
            () => `${m.id} at position ${e.position}, expected ${k.waiting.length}`,
          );
          break;
        }
        case 'token:acquired':
          this.start(e, e.messageId, cause);
          break;
        case 'token:handed-off':
          this.start(e, e.to, cause);
          break;
        case 'token:released': {
          must(
            e.messageId === cause.finishing?.id,
            () => `released ${e.messageId}, not the finishing message`,
          );
          must(
            e.inFlight === this.key(e.key).inFlight.size,
            () => `released with inFlight ${e.inFlight}`,
          );
          this.released.add(e.key);
          break;
        }
        case 'delivery:succeeded':
        case 'delivery:failed': {
          const m = this.msg(e.messageId);
          const k = this.key(m.key);
          const r = cause.finishing;
          must(r !== undefined && r.id === m.id, () => `${e.type} of ${m.id} without finishing it`);
          must(
            e.attempt === m.attempt,
            () => `${e.type} attempt ${e.attempt}, expected ${m.attempt}`,
          );
          must(
            (e.type === 'delivery:succeeded') === r.result.ok,
            () => `${e.type} for ${JSON.stringify(r.result)}`,
          );
          this.endFlight(m, k);
          m.place = 'ending';
          if (e.type === 'delivery:failed' && !r.result.ok) {
            const retry =
              r.result.nonRetryable !== true && !m.cancelRequested && m.attempt < m.maxRetries;
            const expected = retry
              ? this.now + (r.result.retryDelayMs ?? defaultBackoff(m.attempt + 1))
              : null;
            must(
              e.retryAt === expected,
              () => `${m.id} retryAt ${e.retryAt}, expected ${expected}`,
            );
            if (e.retryAt !== null) {
              m.place = 'retry-scheduled';
              m.attempt++;
              m.dueAt = e.retryAt;
              k.scheduled.add(m.id);
            }
          }
          break;
        }
        case 'message:delivered':
        case 'message:dead-lettered':
        case 'message:cancelled': {
          const m = this.msg(e.messageId);
          const k = this.key(m.key);
          must(e.key === m.key, () => `${e.type} of ${m.id} on key ${e.key}`);
          if (e.type === 'message:delivered') {
            must(
              m.place === 'ending' && cause.finishing?.result.ok === true,
              () => `${m.id} delivered while ${m.place}`,
            );
            m.place = 'delivered';
            this.stats.delivered++;
          } else if (e.type === 'message:dead-lettered') {
            must(
              m.place === 'ending' && !m.cancelRequested,
              () => `${m.id} dead-lettered while ${m.place}`,
            );
            must(e.reason.length > 0, () => `${m.id} dead-lettered without a reason`);
            m.place = 'dead';
            this.stats.dead++;
          } else {
            if (m.place === 'waiting') k.waiting.splice(k.waiting.indexOf(m.id), 1);
            else if (m.place === 'scheduled' || m.place === 'retry-scheduled')
              k.scheduled.delete(m.id);
            else
              must(
                m.place === 'ending' && m.cancelRequested,
                () => `${m.id} cancelled while ${m.place}`,
              );
            m.place = 'cancelled';
            this.stats.cancelled++;
          }
          break;
        }
        case 'key:configured': {
          const k = this.key(e.key);
          const newPeriod = e.periodMs !== k.periodMs;
          k.parallelism = e.parallelism;
          k.rate = e.rate;
          k.periodMs = e.periodMs;
          k.pinnedParallelism = e.pinnedParallelism;
          k.pinnedRate = e.pinnedRate;
          const where = `key:configured (${e.source}) of ${e.key} at ${this.now}`;
          const restarted = newPeriod && e.ratePeriodStart === this.now && e.rateCount === 0;
          if (e.source === 'pin' || restarted) {
            // A pin restarts the window; so may a new period that no longer covers the current one.
            must(
              e.ratePeriodStart === this.now && e.rateCount === 0,
              () => `${where}: window not restarted`,
            );
            k.starts = [];
            k.lastRestart = this.now;
          } else {
            const start = e.ratePeriodStart;
            const seen = k.starts.filter((t) => t >= start).length;
            must(
              start <= this.now && this.now < start + k.periodMs && start >= k.lastRestart,
              () =>
                `${where}: window start ${start}, period ${k.periodMs}, restarted ${k.lastRestart}`,
            );
            must(
              e.rateCount === seen,
              () => `${where}: rateCount ${e.rateCount}, ${seen} starts since ${start}`,
            );
          }
          if (k.parallelism !== null && k.inFlight.size > k.parallelism) k.over = true;
          break;
        }
        case 'key:rate-reset': {
          const k = this.key(e.key);
          must(e.ratePeriodStart === this.now, () => `rate reset to ${e.ratePeriodStart}`);
          k.starts = [];
          k.lastRestart = this.now;
          break;
        }
        case 'key:paused':
        case 'key:resumed':
          this.key(e.key).paused = e.type === 'key:paused';
          break;
        case 'key:forgotten': {
          const k = this.keys.get(e.key);
          if (k !== undefined) {
            const where = `key ${e.key} forgotten at ${this.now}`;
            must(
              k.inFlight.size === 0 && k.waiting.length === 0 && k.scheduled.size === 0,
              () => `${where} with messages left`,
            );
            must(
              !k.paused && !k.pinnedParallelism && !k.pinnedRate,
              () => `${where} while paused or pinned`,
            );
            // Its rate window being over is the engine's own rule (see contract-forget.ts):
            // the ledger does not follow the window grid.
          }
          // Back as a new key, configured by the next message alone.
          this.keys.delete(e.key);
          break;
        }
        case 'global:configured':
          this.globalMax = e.parallelism;
          if (this.globalMax !== null && this.globalInFlight > this.globalMax)
            this.globalOver = true;
          if (this.globalMax === null || this.globalInFlight <= this.globalMax)
            this.globalOver = false;
          break;
        case 'lease:expired':
          must(false, () => 'the memory engine has no leases');
      }
    }
  }
}
