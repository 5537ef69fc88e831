/**
 * "Predict, then watch": what a burst will do under its key's limits, before it is published. The
 * page runs the server's own engine (`shared/engine`, pure) on a clock of its own: each message is
 * published at its offset, each start is finished after the simulated duration, failures retry
 * with the engine's backoff. The events it emits are read into a timeline by the same code that
 * reads the server's (run-timeline.ts), so the two can be drawn one over the other.
 */
import TinyQueue from 'tinyqueue';
import { FlowEngine } from '../../shared/engine/engine';
import type {
  AttemptResult,
  FlowConfig,
  HandoffPolicy,
  MessageHandle,
  PinInput,
} from '../../shared/engine/types';
import { keyId, messageId, ms, type KeyId, type Millis } from '../../shared/engine/units';
import type { EngineEvent } from '../../shared/events';
import { TimelineBuilder, summarize, type RequestTimeline, type RunSummary } from './run-timeline';

/**
 * What the page knows of the key right now: the traffic already there goes ahead of the burst.
 * Times are ms relative to now (≤ 0).
 */
export interface KeyNow {
  parallelism: number | null;
  rate: number | null;
  periodMs: number;
  pinnedParallelism: boolean;
  pinnedRate: boolean;
  paused: boolean;
  /** Starts counted in the rate window that holds now, and when that window began. */
  rateCount: number;
  windowStart: number;
  /** When each delivery now in flight started. */
  activeStarts: readonly number[];
  /** How many wait in the key's waitlist. */
  waiting: number;
}

export interface PredictionInput {
  /** When each message is published, in ms from the first (publishOffsets). */
  offsets: readonly number[];
  /** The flow control each message carries, as the server reads its header; undefined: none. */
  config: FlowConfig | undefined;
  /** How long each attempt takes (the simulator's duration; its jitter is not predicted). */
  durationMs: number;
  /** The probability that an attempt fails, 0..1. */
  failRate: number;
  /** Retries after a failed first attempt (the server's default when the message names none). */
  retries: number;
  key?: KeyNow;
  policy?: HandoffPolicy;
}

export interface Prediction {
  /** The burst's messages, in publish order; times in ms from the first publish. */
  rows: RequestTimeline[];
  summary: RunSummary;
  /** The traffic already on the key that goes first. */
  ahead: { inFlight: number; waiting: number };
  /** Some request never starts (the key is paused): there is no total. */
  stuck: boolean;
}

/** Any fixed instant: the engine speaks epoch ms, the prediction ms from the first publish. */
const BASE = 1_000_000_000_000;
/** A guard against a loop that never ends; a 10,000-message burst takes well under this. */
const MAX_STEPS = 2_000_000;

type Role = { kind: 'burst' } | { kind: 'active'; endAt: number } | { kind: 'ahead' };

interface Finish {
  at: number;
  n: number;
  handle: MessageHandle;
  result: AttemptResult;
}

/**
 * Whether the `k`-th attempt (0-based, in start order) fails when a fraction `p` fail: failures
 * are placed evenly (round(n·p) of the first n attempts), so the prediction shows the typical run
 * and is the same every time, where the simulator draws at random.
 */
export function failsAt(k: number, p: number): boolean {
  return Math.round((k + 1) * p) > Math.round(k * p);
}

/** Runs the engine on the burst and reads its timeline. Pure: same input, same prediction. */
export function predict(input: PredictionInput): Prediction {
  const engine = new FlowEngine({ policy: input.policy ?? 'fifo', seed: 7 });
  const key = keyId('predicted');
  const builder = new TimelineBuilder();
  const finishes = new TinyQueue<Finish>([], (a, b) => a.at - b.at || a.n - b.n);
  let n = 0;
  let now = 0;
  let burstAttempts = 0;
  const at = (t: number): Millis => ms(BASE + t);
  const take = (events: readonly EngineEvent[]) => {
    for (const e of events) builder.add(e);
  };

  engine.onStart((handle, _key, _attempt) => {
    const role = handle.data as Role | undefined;
    if (role === undefined) return; // a rate-window filler, ended by its publisher
    if (role.kind === 'active') {
      // In flight now, so it ends now at the earliest, however overdue it looks.
      finishes.push({ at: Math.max(0, role.endAt), n: n++, handle, result: { ok: true } });
      return;
    }
    const fail = role.kind === 'burst' && failsAt(burstAttempts++, input.failRate);
    finishes.push({
      at: now + input.durationMs,
      n: n++,
      handle,
      result: fail ? { ok: false, status: 500, error: 'simulated failure' } : { ok: true },
    });
  });

  const ahead = seedKey(engine, key, input, (t) => (now = t), at);
  const ids = input.offsets.map((_, i) => `p${i}`);
  let next = 0;
  for (let step = 0; step < MAX_STEPS; step++) {
    const publishAt = next < input.offsets.length ? input.offsets[next]! : Infinity;
    const finishAt = finishes.peek()?.at ?? Infinity;
    const wake = engine.nextWakeAt();
    const wakeAt = wake === null ? Infinity : wake - BASE;
    const t = Math.min(publishAt, finishAt, wakeAt);
    if (t === Infinity) break;
    now = t;
    while (finishes.length > 0 && finishes.peek()!.at <= t) {
      const f = finishes.pop()!;
      take(engine.finish(f.handle, f.result, at(t)));
    }
    while (next < input.offsets.length && input.offsets[next]! <= t) {
      const accepted = engine.publish(
        {
          id: messageId(ids[next]!),
          key,
          ...(input.config !== undefined ? { config: input.config } : {}),
          retries: input.retries,
        },
        at(t),
        { kind: 'burst' } satisfies Role,
      );
      take(accepted.events);
      next++;
    }
    take(engine.tick(at(t)));
  }
  const rows = builder.rows(ids, BASE);
  const summary = summarize(rows);
  return { rows, summary, ahead, stuck: summary.totalMs === null };
}

/**
 * Puts the key as the page knows it into the engine before the burst: its limits (pinned parts
 * pinned), its rate window (start and count), the deliveries in flight (each ending one duration
 * after it started) and the waiters (each taking one duration). The rate window is rebuilt from
 * its count: fillers start and end at its start, less the deliveries in flight that started in it.
 * Delayed and retrying messages of the key are not known in full and are left out.
 */
function seedKey(
  engine: FlowEngine,
  key: KeyId,
  input: PredictionInput,
  setNow: (t: number) => void,
  at: (t: number) => Millis,
): Prediction['ahead'] {
  const k = input.key;
  if (k === undefined) return { inFlight: 0, waiting: 0 };
  const t0 = k.rate !== null ? Math.min(0, k.windowStart) : 0;
  setNow(t0);
  const pin: PinInput = {};
  if (k.parallelism !== null) pin.parallelism = k.parallelism;
  if (k.rate !== null) Object.assign(pin, { rate: k.rate, periodMs: ms(k.periodMs) });
  if (pin.parallelism !== undefined || pin.rate !== undefined) {
    engine.pin(key, pin, at(t0));
    engine.unpin(key, { parallelism: !k.pinnedParallelism, rate: !k.pinnedRate }, at(t0));
  }
  let n = 0;
  const publish = (role: Role | undefined) =>
    engine.publish({ id: messageId(`ahead${n++}`), key, retries: 0 }, at(t0), role).message;
  for (const started of k.activeStarts)
    publish({ kind: 'active', endAt: started + input.durationMs });
  if (k.rate !== null) {
    const inWindow = k.activeStarts.filter((s) => s >= k.windowStart).length;
    const fillers = Math.min(k.rate, Math.max(0, k.rateCount - inWindow));
    for (let i = 0; i < fillers; i++) {
      const h = publish(undefined);
      if (engine.view(h)?.state === 'in-flight') engine.finish(h, { ok: true }, at(t0));
      else engine.cancel(h, at(t0));
    }
  }
  for (let i = 0; i < k.waiting; i++) publish({ kind: 'ahead' });
  if (k.paused) engine.pause(key, at(t0));
  return { inFlight: k.activeStarts.length, waiting: k.waiting };
}
