/**
 * The engine's property runner (shared/engine/testing/scenario.ts) played against a `FlowStore`:
 * the same random command sequences, the same ledger checked after every step, the same drain.
 */
import type { EngineEvent } from '../../../shared/events';
import type { FlowEngine } from '../../../shared/engine/engine';
import { ENDED, Ledger, must, type Cause } from '../../../shared/engine/testing/ledger';
import {
  KEYS,
  RANDOM_WINDOW,
  resultOf,
  type Scenario,
} from '../../../shared/engine/testing/scenario';
import type { AttemptResult, HandoffPolicy } from '../../../shared/engine/types';
import { GLOBAL_KEY } from '../../../shared/engine/units';
import { crossCheckStore } from './store-cross-check';
import type { ContractContext } from './contract-context';
import type { StoreDriver } from './store-driver';

/**
 * The ledger reads events only; its `engine` is there for the engine's own cross-check, which the
 * store's replaces. Anything reaching for it fails loudly rather than read a stray engine.
 */
const noEngine = new Proxy({} as FlowEngine, {
  get(_target, name) {
    throw new Error(`the store contract's ledger has no engine (read ${String(name)})`);
  },
});

/** Plays one scenario against a fresh store; throws at the first rule broken. */
export function runStoreScenario(
  ctx: ContractContext,
  policy: HandoffPolicy,
  s: Scenario,
): Promise<void> {
  return ctx.withDriver(
    { policy, seed: s.seed, randomWindow: RANDOM_WINDOW, globalParallelism: s.globalParallelism },
    (d) => play(d, policy, s),
  );
}

async function play(d: StoreDriver, policy: HandoffPolicy, s: Scenario): Promise<void> {
  const l = new Ledger(noEngine, policy, s.globalParallelism, RANDOM_WINDOW);
  const seenEnded = new Set<string>();
  let nextId = 0;
  /** Runs a command at the ledger's time, then checks its events and the store. */
  const step = async (run: () => Promise<EngineEvent[]>, cause: Cause = {}): Promise<void> => {
    d.at(l.now);
    l.apply(await run(), cause);
    await crossCheckStore(l, d, seenEnded);
  };
  const finish = (id: string, result: AttemptResult) =>
    step(() => d.finish(id, result), { finishing: { id, result } });

  for (const c of s.cmds) {
    switch (c.t) {
      case 'publish': {
        const preset = s.presets[KEYS.indexOf(c.key as (typeof KEYS)[number])] ?? null;
        const config = c.config === 'preset' ? preset : c.config;
        const notBefore = c.delay === null ? null : l.now + c.delay;
        for (let i = 0; i < c.count; i++) {
          const id = `m${++nextId}`;
          if (c.key !== null && config !== null) l.expectMessageConfig(c.key, config);
          const options = {
            ...(c.key !== null ? { key: c.key } : {}),
            ...(config !== null ? { config } : {}),
            retries: c.retries,
            ...(notBefore !== null ? { notBefore } : {}),
          };
          await step(() => d.publish(id, options), {
            publish: { id, key: c.key ?? GLOBAL_KEY, notBefore, retries: c.retries },
          });
        }
        break;
      }
      case 'finish': {
        const ids = l.inFlight();
        const id = ids[c.pick % Math.max(1, ids.length)];
        if (id !== undefined) await finish(id, resultOf(c.outcome, c.delayMs));
        break;
      }
      case 'advance':
        l.now += c.dt;
        await step(() => d.tick());
        break;
      case 'wake': {
        const w = await d.nextWakeAt();
        if (w !== null) l.now = Math.max(l.now, w);
        await step(() => d.tick());
        break;
      }
      case 'pause':
        await step(() => d.pause(c.key));
        break;
      case 'resume':
        await step(() => d.resume(c.key));
        break;
      case 'reset-rate':
        await step(() => d.resetRate(c.key));
        break;
      case 'pin':
        l.expectPin(c.key, c.pin);
        await step(() =>
          d.pin(c.key, {
            parallelism: c.pin.parallelism,
            rate: c.pin.rate,
            period: c.pin.periodMs,
          }),
        );
        break;
      case 'unpin':
        l.expectUnpin(c.key, c.parallelism, c.rate);
        await step(() => d.unpin(c.key, { parallelism: c.parallelism, rate: c.rate }));
        break;
      case 'cancel': {
        const live = l.live();
        const m = live[c.pick % Math.max(1, live.length)];
        if (m === undefined) break;
        if (m.place === 'in-flight') m.cancelRequested = true;
        await step(async () => {
          const events = await d.cancel(m.id);
          must(
            m.place === 'in-flight'
              ? events.length === 0
              : events.some((e) => e.type === 'message:cancelled'),
            () => `cancel of ${m.id} (${m.place}) emitted ${events.map((e) => e.type).join()}`,
          );
          return events;
        });
        break;
      }
      case 'global':
        await step(() => d.setGlobal(c.parallelism));
        break;
      case 'forget':
        await step(() => d.forgetIdle(c.idleMs));
        break;
    }
  }

  // Drain: lift every hold, then keep finishing and waking until nothing is left.
  for (const { key } of await d.store.keys()) {
    await step(() => d.resume(key));
    l.expectUnpin(key, true, true);
    await step(() => d.unpin(key, { parallelism: true, rate: true }));
  }
  await step(() => d.setGlobal(null));
  for (let round = 0; l.live().length > 0; round++) {
    must(round < 10_000, () => `not quiescent after ${round} rounds`);
    const ids = l.inFlight();
    if (ids.length > 0) {
      for (const id of ids) await finish(id, { ok: true, status: 200 });
      continue;
    }
    const w = await d.nextWakeAt();
    must(
      w !== null,
      () =>
        `starvation: ${l
          .live()
          .map((m) => `${m.id}:${m.place}`)
          .join()} left, nothing in flight or due`,
    );
    l.now = Math.max(l.now, w);
    await step(() => d.tick());
  }
  for (const m of l.msgs.values()) {
    must(ENDED.has(m.place), () => `${m.id} ended ${m.place}`);
  }
  seenEnded.clear();
  await crossCheckStore(l, d, seenEnded);
  const stats = await d.stats();
  must(
    stats.accepted === stats.delivered + stats.dead + stats.cancelled,
    () => `stats do not add up: ${JSON.stringify(stats)}`,
  );
  // A wake-up may be left (say, the window timer of a key whose waiters were cancelled); it does nothing.
  for (let w = await d.nextWakeAt(), n = 0; w !== null; w = await d.nextWakeAt(), n++) {
    must(n < 100, () => 'wake-ups keep coming after the drain');
    l.now = Math.max(l.now, w);
    d.at(l.now);
    const events = await d.tick();
    must(
      events.length === 0,
      () => `a wake-up after the drain did ${events.map((e) => e.type).join()}`,
    );
  }
}
