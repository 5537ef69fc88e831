/**
 * What the Redis store adds to the contract (redis-store.contract.test.ts): several stores on one
 * deployment, leases and their reclaim, one event stream, restarts, Redis's own time and scripts.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import type { EngineEvent } from '../../../shared/events';
import type { MessageHandle } from '../../../shared/engine/types';
import { keyId, messageId, ms, type KeyId } from '../../../shared/engine/units';
import type { MessagePayload } from '../../flow/types';
import { RedisStore, type RedisStoreOptions } from './redis-store';
import { TEST_REDIS_URL, TestClock, deletePrefix, payloadOf, testPrefix } from './testing';

const LEASE = 30_000;
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(p);
});

interface Server {
  store: RedisStore;
  heard: EngineEvent[];
  starts: Array<{ handle: MessageHandle; key: KeyId; attempt: number }>;
  /** Resolves once this server's events handler has heard event `seq`. */
  heardUpTo(seq: number): Promise<void>;
}

/** One deployment (a prefix) and a clock its servers share. */
function deployment(options: Partial<RedisStoreOptions> = {}) {
  const prefix = testPrefix('store');
  prefixes.push(prefix);
  const clock = new TestClock(1_000);
  const open = async (extra: Partial<RedisStoreOptions> = {}): Promise<Server> => {
    const store = await RedisStore.open({
      url: TEST_REDIS_URL,
      prefix,
      clock,
      leaseMs: LEASE,
      renewEveryMs: 3_600_000, // renewed by hand (renewLeases) in these tests
      ...options,
      ...extra,
    });
    onTestFinished(() => store.close());
    const heard: EngineEvent[] = [];
    const waiters: Array<[number, () => void]> = [];
    store.onEvents((events) => {
      heard.push(...events);
      const last = heard.at(-1)?.seq ?? 0;
      for (const w of waiters.splice(0)) {
        if (w[0] <= last) w[1]();
        else waiters.push(w);
      }
    });
    const starts: Server['starts'] = [];
    store.onStart((handle, key, attempt) => starts.push({ handle, key, attempt }));
    return {
      store,
      heard,
      starts,
      heardUpTo: (seq) =>
        (heard.at(-1)?.seq ?? 0) >= seq
          ? Promise.resolve()
          : new Promise((resolve) => waiters.push([seq, resolve])),
    };
  };
  return { prefix, clock, open };
}

const accept = (
  s: Server,
  id: string,
  key: string,
  parallelism?: number,
  payload?: MessagePayload,
) =>
  s.store.accept(
    {
      id: messageId(id),
      key: keyId(key),
      ...(parallelism !== undefined ? { config: { parallelism } } : {}),
    },
    payload ?? payloadOf(id),
  );

const types = (events: EngineEvent[]) => events.map((e) => e.type);

describe('RedisStore', () => {
  describe('with several servers on one deployment', () => {
    it('shares one parallelism limit between them', async () => {
      const { open } = deployment();
      const [a, b] = [await open(), await open()];
      await accept(a, 'a1', 'k', 2);
      await accept(b, 'b1', 'k', 2);
      const third = await accept(a, 'a2', 'k', 2);
      expect(types(third.events)).toEqual(['message:accepted', 'message:waitlisted']);
      expect(await b.store.key(keyId('k'))).toMatchObject({ inFlight: 2, waitListSize: 1 });
      expect(a.starts.map((s) => s.handle.id)).toEqual(['a1']);
      expect(b.starts.map((s) => s.handle.id)).toEqual(['b1']);
    });

    it('hands a token to a waiter another server accepted, with its payload', async () => {
      const { open } = deployment();
      const [a, b] = [await open(), await open()];
      await accept(a, 'a1', 'k', 1);
      const body = new Uint8Array(256).map((_, i) => i);
      await accept(b, 'b1', 'k', 1, { ...payloadOf('b1'), body });
      const events = await a.store.finish(a.starts[0]!.handle, { ok: true, status: 200 });
      expect(types(events)).toEqual([
        'delivery:succeeded',
        'message:delivered',
        'token:handed-off',
      ]);
      // The server that freed the token begins the next delivery.
      const start = a.starts[1]!;
      expect(start.handle.id).toBe('b1');
      const data = start.handle.data as MessagePayload;
      expect(data.destination).toBe(payloadOf('b1').destination);
      expect(data.body).toBeInstanceOf(Uint8Array);
      expect([...(data.body ?? [])]).toEqual([...body]);
    });

    it('tells every server every event, in one seq order without gaps', async () => {
      const { open } = deployment();
      const [a, b, c] = [await open(), await open(), await open()];
      const runs: Array<Promise<unknown>> = [];
      for (let i = 0; i < 30; i++) {
        const s = [a, b, c][i % 3]!;
        runs.push(accept(s, `m${i}`, `k${i % 4}`, 2));
      }
      await Promise.all(runs);
      await a.store.pause(keyId('k0'));
      const last = (await c.store.snapshot(0)).seq;
      await Promise.all([a, b, c].map((s) => s.heardUpTo(last)));
      const seqs = a.heard.map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      expect(b.heard).toEqual(a.heard);
      expect(c.heard).toEqual(a.heard);
    });

    it('hears its own command’s events before the command answers', async () => {
      const { open } = deployment();
      const a = await open();
      const accepted = await accept(a, 'a1', 'k');
      expect(a.heard).toEqual(accepted.events);
    });
  });

  describe('leases', () => {
    it('keeps a delivery whose server renews its lease', async () => {
      const { open, clock } = deployment();
      const [a, b] = [await open(), await open()];
      await accept(a, 'a1', 'k', 1);
      clock.set(1_000 + LEASE - 1);
      await a.store.renewLeases();
      clock.set(1_000 + LEASE + 10);
      expect(await b.store.wake()).toEqual([]);
      expect(await b.store.nextWakeAt()).toBeNull();
      expect((await b.store.message(a.starts[0]!.handle))?.state).toBe('in-flight');
    });

    it('reclaims a stopped server’s lease: the token moves on, the message is retried', async () => {
      const { open, clock } = deployment();
      const [a, b] = [await open(), await open()];
      await accept(a, 'a1', 'k', 1);
      await accept(a, 'a2', 'k', 1);
      await a.store.close(); // a "crashes": nobody renews a1's lease
      clock.set(1_000 + LEASE);
      expect(await b.store.nextWakeAt()).toBe(1_000 + LEASE);
      const events = await b.store.wake();
      expect(events).toMatchObject([
        { type: 'lease:expired', key: 'k', messageId: 'a1' },
        { type: 'token:handed-off', from: 'a1', to: 'a2', waitedMs: LEASE },
        { type: 'message:waitlisted', messageId: 'a1', reason: 'parallelism', position: 1 },
      ]);
      expect(b.starts.map((s) => [s.handle.id, s.attempt])).toEqual([['a2', 0]]);
      // a1 comes back as its next attempt, with its payload, once the token is free again.
      clock.set(1_000 + LEASE + 5);
      await b.store.finish(b.starts[0]!.handle, { ok: true });
      expect(b.starts.map((s) => [s.handle.id, s.attempt])).toEqual([
        ['a2', 0],
        ['a1', 1],
      ]);
      expect((b.starts[1]!.handle.data as MessagePayload).destination).toBe(
        payloadOf('a1').destination,
      );
      expect(await b.store.global()).toEqual({ parallelism: null, inFlight: 1 });
    });

    it('refuses the late finish of an attempt whose lease was reclaimed', async () => {
      const { open, clock } = deployment();
      const [a, b] = [await open(), await open()];
      await accept(a, 'a1', 'k', 1);
      clock.set(1_000 + LEASE);
      await b.store.wake(); // a1 restarts at once, on b
      expect(b.starts.map((s) => [s.handle.id, s.attempt])).toEqual([['a1', 1]]);
      await expect(a.store.finish(a.starts[0]!.handle, { ok: true })).rejects.toThrow(
        'message a1 is not in flight',
      );
      const done = await b.store.finish(b.starts[0]!.handle, { ok: true, status: 200 });
      expect(done).toMatchObject([{ type: 'delivery:succeeded', attempt: 1 }, {}, {}]);
    });

    it('ends a message cancelled while its lease ran out', async () => {
      const { open, clock } = deployment();
      const [a, b] = [await open(), await open()];
      const { message } = await accept(a, 'a1', 'k');
      await b.store.cancel(message);
      clock.set(1_000 + LEASE);
      expect(types(await b.store.wake())).toEqual([
        'lease:expired',
        'token:released',
        'message:cancelled',
      ]);
      expect(await b.store.message(message)).toBeUndefined();
    });

    it('is reclaimed by the renewal timer of any server', async () => {
      const { open, clock } = deployment();
      const a = await open();
      await accept(a, 'a1', 'k');
      clock.set(1_000 + LEASE);
      const b = await open({ renewEveryMs: 20 });
      await b.heardUpTo(3);
      expect(b.heard.map((e) => e.type)).toContain('lease:expired');
    });
  });

  describe('a stopping server (handBack)', () => {
    /** Resolves once `done()` holds (checked every few ms). */
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise((r) => setTimeout(r, 5));
    };

    it('gives a finishing delivery’s token to the other servers, not to itself', async () => {
      const { open, clock } = deployment();
      const [a, b] = [await open(), await open()];
      await accept(a, 'a1', 'k', 1);
      await accept(b, 'b1', 'k', 1);
      await accept(b, 'b2', 'k', 1);
      a.store.handBack();
      const events = await a.store.finish(a.starts[0]!.handle, { ok: true, status: 200 });
      expect(types(events)).toEqual(['delivery:succeeded', 'message:delivered', 'token:released']);
      expect(a.starts.map((s) => s.handle.id)).toEqual(['a1']);
      // The key is woken a millisecond later, by whichever server runs its wake-ups.
      expect(await b.store.nextWakeAt()).toBe(1_001);
      clock.set(1_001);
      expect(await b.store.wake()).toMatchObject([
        { type: 'token:acquired', messageId: 'b1', attempt: 0, waitedMs: 1 },
      ]);
      expect(b.starts.map((s) => s.handle.id)).toEqual(['b1']);
      expect(await b.store.key(keyId('k'))).toMatchObject({ inFlight: 1, waitListSize: 1 });
    });

    it('gives back, unbegun, a start granted by a command sent before it began to stop', async () => {
      const { open, clock } = deployment();
      const [a, b] = [await open(), await open()];
      const accepted = accept(a, 'a1', 'k', 1);
      // The batch is written (the tick's immediate) before the stop begins; its answer comes after.
      await new Promise((r) => setImmediate(r));
      a.store.handBack();
      expect(types((await accepted).events)).toEqual([
        'message:accepted',
        'key:configured',
        'token:acquired',
      ]);
      expect(a.starts).toEqual([]);
      await until(() => a.heard.some((e) => e.type === 'token:released'));
      expect(types(a.heard)).toEqual([
        'message:accepted',
        'key:configured',
        'token:acquired',
        'lease:expired',
        'token:released',
      ]);
      clock.set(1_001);
      expect(await b.store.wake()).toMatchObject([
        { type: 'token:acquired', messageId: 'a1', attempt: 0 },
      ]);
      expect(b.starts.map((s) => [s.handle.id, s.attempt])).toEqual([['a1', 0]]);
      expect((b.starts[0]!.handle.data as MessagePayload).destination).toBe(
        payloadOf('a1').destination,
      );
    });

    it('gives back the leases of what it still runs, as their next attempt', async () => {
      const { open, clock } = deployment();
      const [a, b] = [await open(), await open()];
      await accept(a, 'a1', 'k', 1);
      a.store.handBack();
      expect(await a.store.releaseHeld()).toBe(1);
      expect(await a.store.releaseHeld()).toBe(0);
      clock.set(1_001);
      await b.store.wake();
      expect(b.starts.map((s) => [s.handle.id, s.attempt])).toEqual([['a1', 1]]);
      // Its answer, should it come after all, is not taken.
      await expect(a.store.finish(a.starts[0]!.handle, { ok: true })).rejects.toThrow(
        'message a1 is not in flight',
      );
    });

    it('leaves a global slot it frees to the other servers', async () => {
      const { open, clock } = deployment();
      const [a, b] = [await open(), await open()];
      await a.store.setGlobalParallelism(1);
      await accept(a, 'a1', 'k1');
      expect((await accept(b, 'b1', 'k2')).events).toMatchObject([
        {},
        { type: 'message:waitlisted', reason: 'global' },
      ]);
      a.store.handBack();
      await a.store.finish(a.starts[0]!.handle, { ok: true, status: 200 });
      clock.set(1_001);
      await b.store.wake();
      expect(b.starts.map((s) => s.handle.id)).toEqual(['b1']);
      expect(await b.store.global()).toEqual({ parallelism: 1, inFlight: 1 });
    });
  });

  describe('state', () => {
    it('outlives its store: a new one on the same prefix carries on', async () => {
      const { open } = deployment();
      const a = await open();
      await accept(a, 'a1', 'k', 1);
      await accept(a, 'a2', 'k', 1);
      await a.store.pause(keyId('k'));
      await a.store.close();
      const b = await open();
      expect(await b.store.key(keyId('k'))).toMatchObject({
        paused: true,
        inFlight: 1,
        waiting: [{ messageId: 'a2' }],
      });
      expect((await b.store.snapshot(0)).seq).toBe(6);
      const events = await b.store.resume(keyId('k'));
      expect(events.map((e) => e.seq)).toEqual([7]);
    });

    it('keeps deployments on other prefixes apart', async () => {
      const one = deployment();
      const two = deployment();
      const a = await one.open();
      const b = await two.open();
      await accept(a, 'a1', 'k', 1);
      expect(await b.store.key(keyId('k'))).toBeUndefined();
      expect(types((await accept(b, 'a1', 'k', 1)).events)).toContain('token:acquired');
    });

    it('runs the commands of one tick as one batch, each answered on its own', async () => {
      const { open } = deployment();
      const a = await open();
      const [first, second, third] = await Promise.allSettled([
        accept(a, 'a1', 'k', 1),
        accept(a, 'a1', 'k', 1), // refused: a1 is live, accepted just before in the same batch
        accept(a, 'a2', 'k', 1),
      ]);
      expect(first).toMatchObject({ status: 'fulfilled' });
      expect(second).toMatchObject({
        status: 'rejected',
        reason: { message: 'message a1 is already accepted' },
      });
      expect(third.status === 'fulfilled' && types(third.value.events)).toEqual([
        'message:accepted',
        'message:waitlisted',
      ]);
      expect(a.heard.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(a.starts.map((s) => s.handle.id)).toEqual(['a1']);
    });

    it('lists and sweeps its keys a run at a time, missing none', async () => {
      const { open, clock } = deployment();
      const a = await open({ keysPerRun: 2 });
      for (let i = 0; i < 7; i++) await accept(a, `m${i}`, `k${i}`, 1);
      expect((await a.store.keys()).map((k) => k.key)).toEqual(
        Array.from({ length: 7 }, (_, i) => `k${i}`),
      );
      // k5 stays busy; the others go idle and are forgotten, across the runs.
      for (let i = 0; i < 7; i++) {
        if (i !== 5) await a.store.finish(a.starts[i]!.handle, { ok: true, status: 200 });
      }
      clock.set(1_000 + 60_000);
      const forgotten = await a.store.forgetIdleKeys(ms(30_000));
      expect(forgotten.map((e) => [e.type, e.key])).toEqual(
        [0, 1, 2, 3, 4, 6].map((i) => ['key:forgotten', `k${i}`]),
      );
      expect((await a.store.keys()).map((k) => k.key)).toEqual(['k5']);
    });

    it('refuses a second message with the id of a live one', async () => {
      const { open } = deployment();
      const a = await open();
      await accept(a, 'a1', 'k');
      await expect(accept(a, 'a1', 'k')).rejects.toThrow('message a1 is already accepted');
    });
  });

  describe('a dropped connection', () => {
    it('refuses the commands it left unanswered rather than sending them again', async () => {
      const { open } = deployment();
      const a = await open({ warn: () => {} });
      const internals = a.store as unknown as { redis: Redis; batches: { sendNow(): void } };
      // Written, then the connection drops before the answer: sent again, a1's accept would run a
      // second time and fail as "already accepted" although it was taken.
      const first = accept(a, 'a1', 'k', 1);
      internals.batches.sendNow();
      internals.redis.stream.destroy();
      await expect(first).rejects.toThrow('the command may or may not have run');
      // The store reconnects and goes on.
      const second = await accept(a, 'a2', 'k', 1);
      expect(types(second.events)[0]).toBe('message:accepted');
    });
  });

  describe('scripts', () => {
    it('loads them again after FUNCTION FLUSH', async () => {
      const { open } = deployment();
      const a = await open();
      await accept(a, 'a1', 'k');
      const admin = new Redis(TEST_REDIS_URL);
      onTestFinished(() => admin.quit().then(() => {}));
      await admin.function('FLUSH');
      const events = await accept(a, 'a2', 'k');
      expect(types(events.events)).toEqual(['message:accepted', 'token:acquired']);
      expect((await a.store.key(keyId('k')))?.inFlight).toBe(2);
    });

    it('reads Redis’s clock when no clock is given', async () => {
      const { open } = deployment();
      const a = await open({ clock: undefined });
      const before = Date.now();
      const { events } = await a.store.accept(
        { id: messageId('a1'), key: keyId('k'), config: { rate: 1, periodMs: ms(60_000) } },
        payloadOf('a1'),
      );
      const at = events[0]!.at;
      // The test's Redis runs on this machine: its clock and ours agree within a few ms.
      expect(Math.abs(at - before)).toBeLessThan(1_000);
      expect(Math.abs(a.store.now() - Date.now())).toBeLessThan(1_000);
      const second = await accept(a, 'a2', 'k');
      expect(second.events[1]).toMatchObject({ type: 'message:waitlisted', reason: 'rate' });
      expect(await a.store.nextWakeAt()).toBe(at + 60_000);
    });
  });
});
