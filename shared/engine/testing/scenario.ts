/**
 * Random command sequences for the engine's property tests, and the runner that plays one against a
 * `FlowEngine`, checking the ledger after every step and draining at the end.
 */
import fc from 'fast-check';
import type { EngineEvent } from '../../events';
import { FlowEngine } from '../engine';
import type { AttemptResult, FlowConfig, HandoffPolicy } from '../types';
import { GLOBAL_KEY, keyId, messageId, ms, type Millis } from '../units';
import { crossCheck } from './cross-check';
import { Handles } from './handles';
import { ENDED, Ledger, must, type Cause } from './ledger';

/** The scenario's keys; each takes the preset of its index. */
export const KEYS = ['a', 'b', 'c'] as const;
/** The random policy's window in these runs (small, so the bound is exercised). */
export const RANDOM_WINDOW = 4;

type Outcome = 'ok' | 'fail' | 'non-retryable' | 'fail-with-delay';
type Cmd =
  | {
      t: 'publish';
      key: string | null;
      /** The key's preset (most runs keep a key's config stable), none, or a new one. */
      config: 'preset' | null | FlowConfig;
      count: number;
      retries: number;
      delay: number | null;
    }
  | { t: 'finish'; pick: number; outcome: Outcome; delayMs: number }
  | { t: 'advance'; dt: number }
  | { t: 'wake' }
  | { t: 'pause' | 'resume' | 'reset-rate'; key: string }
  | { t: 'pin'; key: string; pin: FlowConfig }
  | { t: 'unpin'; key: string; parallelism: boolean; rate: boolean }
  | { t: 'cancel'; pick: number }
  | { t: 'global'; parallelism: number | null }
  | { t: 'forget'; idleMs: number };

const key = fc.constantFrom(...KEYS);
const flowConfig = fc.record(
  {
    parallelism: fc.integer({ min: 1, max: 4 }),
    rate: fc.integer({ min: 1, max: 4 }),
    periodMs: fc.constantFrom(50, 100, 250, 1000, 3000).map(ms),
  },
  { requiredKeys: [] },
);

const command: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('publish' as const),
      key: fc.constantFrom<string | null>(...KEYS, null),
      config: fc.oneof(
        { weight: 6, arbitrary: fc.constant('preset' as const) },
        { weight: 3, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: flowConfig },
      ),
      count: fc.integer({ min: 1, max: 5 }),
      retries: fc.integer({ min: 0, max: 2 }),
      delay: fc.option(fc.integer({ min: -50, max: 3000 }), { nil: null, freq: 4 }),
    }),
  },
  {
    weight: 12,
    arbitrary: fc.record({
      t: fc.constant('finish' as const),
      pick: fc.nat(),
      outcome: fc.constantFrom<Outcome>('ok', 'ok', 'fail', 'non-retryable', 'fail-with-delay'),
      delayMs: fc.integer({ min: 0, max: 2000 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('advance' as const),
      dt: fc.integer({ min: 0, max: 3000 }),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ t: 'wake' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constantFrom('pause' as const, 'resume' as const), key }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reset-rate' as const), key }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('pin' as const),
      key,
      pin: flowConfig.filter((c) => Object.keys(c).length > 0),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('unpin' as const),
      key,
      parallelism: fc.boolean(),
      rate: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('cancel' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('forget' as const),
      idleMs: fc.integer({ min: 0, max: 4000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('global' as const),
      parallelism: fc.option(fc.integer({ min: 1, max: 6 }), { nil: null }),
    }),
  },
);

export const scenario = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  presets: fc.tuple(flowConfig, flowConfig, flowConfig),
  globalParallelism: fc.option(fc.integer({ min: 1, max: 6 }), { nil: null }),
  cmds: fc.array(command, { maxLength: 60, size: 'max' }),
});
export type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

/** The attempt result a scenario's `finish` outcome stands for. */
export function resultOf(outcome: Outcome, delayMs: number): AttemptResult {
  switch (outcome) {
    case 'ok':
      return { ok: true, status: 200 };
    case 'fail':
      return { ok: false, status: 500 };
    case 'non-retryable':
      return { ok: false, status: 489, nonRetryable: true };
    case 'fail-with-delay':
      return { ok: false, status: 429, retryDelayMs: ms(delayMs) };
  }
}

/** Plays one scenario; throws at the first rule broken. */
export function runScenario(policy: HandoffPolicy, s: Scenario): void {
  const engine = new FlowEngine({
    policy,
    seed: s.seed,
    randomWindow: RANDOM_WINDOW,
    globalParallelism: s.globalParallelism,
  });
  const handles = new Handles(engine);
  const l = new Ledger(engine, policy, s.globalParallelism, RANDOM_WINDOW);
  let nextId = 0;
  const at = (): Millis => ms(l.now);
  const step = (events: EngineEvent[], cause: Cause = {}): void => {
    l.apply(events, cause);
    crossCheck(l, handles);
  };
  const finish = (id: string, result: AttemptResult): void =>
    step(handles.finish(id, result, at()), { finishing: { id, result } });

  for (const c of s.cmds) {
    switch (c.t) {
      case 'publish': {
        const preset = s.presets[KEYS.indexOf(c.key as (typeof KEYS)[number])] ?? null;
        const config = c.config === 'preset' ? preset : c.config;
        const notBefore = c.delay === null ? null : l.now + c.delay;
        for (let i = 0; i < c.count; i++) {
          const id = `m${++nextId}`;
          if (c.key !== null && config !== null) l.expectMessageConfig(c.key, config);
          const input = {
            id: messageId(id),
            ...(c.key !== null ? { key: keyId(c.key) } : {}),
            ...(config !== null ? { config } : {}),
            retries: c.retries,
            ...(notBefore !== null ? { notBefore: ms(notBefore) } : {}),
          };
          step(handles.publish(input, at()), {
            publish: { id, key: c.key ?? GLOBAL_KEY, notBefore, retries: c.retries },
          });
        }
        break;
      }
      case 'finish': {
        const ids = l.inFlight();
        const id = ids[c.pick % Math.max(1, ids.length)];
        if (id !== undefined) finish(id, resultOf(c.outcome, c.delayMs));
        break;
      }
      case 'advance':
        l.now += c.dt;
        step(engine.tick(at()));
        break;
      case 'wake': {
        const w = engine.nextWakeAt();
        if (w !== null) l.now = Math.max(l.now, w);
        step(engine.tick(at()));
        break;
      }
      case 'pause':
        step(engine.pause(keyId(c.key), at()));
        break;
      case 'resume':
        step(engine.resume(keyId(c.key), at()));
        break;
      case 'reset-rate':
        step(engine.resetRate(keyId(c.key), at()));
        break;
      case 'pin':
        l.expectPin(c.key, c.pin);
        step(engine.pin(keyId(c.key), c.pin, at()));
        break;
      case 'unpin':
        l.expectUnpin(c.key, c.parallelism, c.rate);
        step(engine.unpin(keyId(c.key), { parallelism: c.parallelism, rate: c.rate }, at()));
        break;
      case 'cancel': {
        const live = l.live();
        const m = live[c.pick % Math.max(1, live.length)];
        if (m === undefined) break;
        if (m.place === 'in-flight') m.cancelRequested = true;
        const events = handles.cancel(m.id, at());
        must(
          m.place === 'in-flight'
            ? events.length === 0
            : events.some((e) => e.type === 'message:cancelled'),
          () => `cancel of ${m.id} (${m.place}) emitted ${events.map((e) => e.type).join()}`,
        );
        step(events);
        break;
      }
      case 'global':
        step(engine.setGlobalParallelism(c.parallelism, at()));
        break;
      case 'forget':
        step(engine.forgetIdleKeys(ms(c.idleMs), at()));
        break;
    }
  }

  // Drain: lift every hold, then keep finishing and waking until nothing is left.
  for (const id of [...engine.keyIds()]) {
    step(engine.resume(id, at()));
    l.expectUnpin(id, true, true);
    step(engine.unpin(id, { parallelism: true, rate: true }, at()));
  }
  step(engine.setGlobalParallelism(null, at()));
  for (let round = 0; l.live().length > 0; round++) {
    must(round < 10_000, () => `not quiescent after ${round} rounds`);
    const ids = l.inFlight();
    if (ids.length > 0) {
      for (const id of ids) finish(id, { ok: true, status: 200 });
      continue;
    }
    const w = engine.nextWakeAt();
    must(
      w !== null,
      () =>
        `starvation: ${l
          .live()
          .map((m) => `${m.id}:${m.place}`)
          .join()} left, nothing in flight or due`,
    );
    l.now = Math.max(l.now, w);
    step(engine.tick(at()));
  }
  for (const m of l.msgs.values()) {
    must(ENDED.has(m.place), () => `${m.id} ended ${m.place}`);
  }
  must(
    engine.stats.accepted === engine.stats.delivered + engine.stats.dead + engine.stats.cancelled,
    () => `stats do not add up: ${JSON.stringify(engine.stats)}`,
  );
  // A wake-up may be left (say, the window timer of a key whose waiters were cancelled); it does nothing.
  for (let w = engine.nextWakeAt(), n = 0; w !== null; w = engine.nextWakeAt(), n++) {
    must(n < 100, () => 'wake-ups keep coming after the drain');
    l.now = Math.max(l.now, w);
    const events = engine.tick(at());
    must(
      events.length === 0,
      () => `a wake-up after the drain did ${events.map((e) => e.type).join()}`,
    );
  }
}
