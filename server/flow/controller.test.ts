import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../store/memory-store';
import type { AttemptResult } from '../../shared/engine/types';
import { keyId, messageId, ms } from '../../shared/engine/units';
import type { EngineEvent } from '../../shared/events';
import { FlowController } from './controller';
import type { Deliverer, Delivery } from './types';
import { manualTime } from '../test/manual-time';

/** A deliverer whose attempts the test ends one by one. */
function manualDeliverer() {
  const open = new Map<string, (r: AttemptResult) => void>();
  const started: Delivery[] = [];
  const deliverer: Deliverer = {
    deliver(d) {
      started.push(d);
      return new Promise((resolve) => open.set(`${d.id}#${d.attempt}`, resolve));
    },
  };
  return {
    deliverer,
    started,
    end(id: string, attempt: number, result: AttemptResult) {
      const f = open.get(`${id}#${attempt}`);
      if (f === undefined) throw new Error(`${id}#${attempt} is not in flight`);
      open.delete(`${id}#${attempt}`);
      f(result);
    },
  };
}

const payload = { destination: 'sim://t', method: 'POST', headers: {} };

/** A controller over a fresh memory store, with hand-driven time and deliveries. */
function setup(keyTtlMs: number | null = null) {
  const time = manualTime();
  const d = manualDeliverer();
  const c = new FlowController({
    store: new MemoryStore({ clock: time.clock }),
    clock: time.clock,
    deliverer: d.deliverer,
    timers: time.timers,
    keyTtlMs,
  });
  return { time, d, c };
}
const flush = () => new Promise((r) => setImmediate(r));

describe('FlowController', () => {
  it('starts a delivery for every token and hands the token on when one ends', async () => {
    const { d, c } = setup();
    const seen: EngineEvent[] = [];
    c.onEvents((evs) => seen.push(...evs));
    const publish = (id: string) =>
      c.publish({ id: messageId(id), key: keyId('k'), config: { parallelism: 2 } }, payload);
    const a = publish('a');
    publish('b');
    publish('c');
    expect(d.started.map((s) => s.id)).toEqual(['a', 'b']);
    d.end('a', 0, { ok: true });
    await flush();
    expect(d.started.map((s) => s.id)).toEqual(['a', 'b', 'c']);
    expect(seen.some((e) => e.type === 'token:handed-off' && e.from === 'a' && e.to === 'c')).toBe(
      true,
    );
    // An ended message is gone from the engine.
    expect(c.message(a.message)).toBeUndefined();
  });

  it('arms a timer for the next rate window and starts the waiter when it fires', () => {
    const { time, d, c } = setup();
    c.publish(
      { id: messageId('a'), key: keyId('r'), config: { rate: 1, periodMs: ms(1000) } },
      payload,
    );
    c.publish(
      { id: messageId('b'), key: keyId('r'), config: { rate: 1, periodMs: ms(1000) } },
      payload,
    );
    expect(d.started.map((s) => s.id)).toEqual(['a']);
    expect(time.armed()).toEqual([1000]);
    time.advance(999);
    expect(d.started).toHaveLength(1);
    time.advance(1000);
    expect(d.started.map((s) => s.id)).toEqual(['a', 'b']);
  });

  it('arms again after a wake-up that made no event, for what comes due later', () => {
    const { time, d, c } = setup();
    const rated = { rate: 1, periodMs: ms(1000) };
    c.publish({ id: messageId('a'), key: keyId('r'), config: rated }, payload);
    c.publish({ id: messageId('b'), key: keyId('r'), config: rated }, payload);
    c.pause(keyId('r'));
    c.publish({ id: messageId('later'), key: keyId('d'), notBefore: ms(5000) }, payload);
    expect(time.armed()).toEqual([1000]);
    // The window ends while its key is paused: nothing starts, no event.
    time.advance(1000);
    expect(d.started.map((s) => s.id)).toEqual(['a']);
    expect(time.armed()).toEqual([5000]);
    time.advance(5000);
    expect(d.started.map((s) => s.id)).toEqual(['a', 'later']);
  });

  it('asks a store answering with promises for its next wake-up once at a time', async () => {
    const time = manualTime();
    const d = manualDeliverer();
    const asked: Array<(at: number | null) => void> = [];
    class AsyncWakeStore extends MemoryStore {
      override nextWakeAt(): never {
        return new Promise<number | null>((r) => asked.push(r)) as never;
      }
    }
    const c = new FlowController({
      store: new AsyncWakeStore({ clock: time.clock }),
      clock: time.clock,
      deliverer: d.deliverer,
      timers: time.timers,
    });
    const publish = (id: string) =>
      c.publish({ id: messageId(id), key: keyId('k'), config: { parallelism: 1 } }, payload);
    publish('a');
    publish('b');
    publish('c');
    // Three batches of events, one question; the two later batches wait for one more.
    expect(asked).toHaveLength(1);
    asked[0]!(500);
    await flush();
    expect(asked).toHaveLength(2);
    // The first answer may be out of date: armed from all the same, until the next one corrects it.
    expect(time.armed()).toEqual([500]);
    asked[1]!(700);
    await flush();
    expect(asked).toHaveLength(2);
    expect(time.armed()).toEqual([700]);
  });

  it('retries after the backoff the result asks for, with the attempt counted up', async () => {
    const { time, d, c } = setup();
    const a = c.publish(
      { id: messageId('a'), key: keyId('k'), config: { parallelism: 1 }, retries: 1 },
      payload,
    );
    d.end('a', 0, { ok: false, status: 500, retryDelayMs: ms(250) });
    await flush();
    expect(time.armed()).toEqual([250]);
    time.advance(250);
    expect(d.started.map((s) => [s.id, s.attempt])).toEqual([
      ['a', 0],
      ['a', 1],
    ]);
    d.end('a', 1, { ok: false, status: 500 });
    await flush();
    expect(c.snapshot().engine.stats.dead).toBe(1);
    expect(c.message(a.message)).toBeUndefined();
  });

  it('accepts nothing when the engine refuses a message', () => {
    const { c, d } = setup();
    expect(() =>
      c.publish({ id: messageId('x'), key: keyId('k'), config: { parallelism: 0 } }, payload),
    ).toThrow();
    expect(c.snapshot().engine.stats.accepted).toBe(0);
    expect(d.started).toHaveLength(0);
  });

  it('forgets idle keys now and then when given a TTL, and stops on close', async () => {
    const { time, d, c } = setup(1000);
    const forgotten: string[] = [];
    c.onEvents((evs) => {
      for (const e of evs) if (e.type === 'key:forgotten') forgotten.push(e.key);
    });
    c.publish({ id: messageId('a'), key: keyId('k'), config: { parallelism: 1 } }, payload);
    expect(time.armed()).toEqual([1000]);
    time.advance(1000);
    // Still in flight: kept.
    expect(forgotten).toEqual([]);
    time.advance(1500);
    d.end('a', 0, { ok: true });
    await flush();
    // Idle for 500 ms only.
    time.advance(2000);
    expect(forgotten).toEqual([]);
    time.advance(3000);
    expect(forgotten).toEqual(['k']);
    expect(c.key(keyId('k'))).toBeUndefined();
    c.close();
    expect(time.armed()).toEqual([]);
  });
});
