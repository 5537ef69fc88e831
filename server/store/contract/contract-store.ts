/**
 * What a store adds to the engine's rules: the payload and handle given back at each start, the
 * reads (a key, all keys, a snapshot, a message, the time) and the events handler.
 */
import { describe, expect, it } from 'vitest';
import { keyId, ms } from '../../../shared/engine/units';
import { FAIL, cfg, only, payloadOf, type StoreDriver } from './store-driver';
import type { ContractContext } from './contract-context';

/** The start handler's handle of `id`, its data checked against the payload it was accepted with. */
function expectPayload(d: StoreDriver, id: string, attempt: number): void {
  const start = d.starts.find((s) => s.handle.id === id && s.attempt === attempt);
  expect(start, `a start of ${id}, attempt ${attempt}`).toBeDefined();
  const { body, ...rest } = start?.handle.data as ReturnType<typeof payloadOf>;
  const { body: sent, ...sentRest } = payloadOf(id);
  expect(rest).toEqual(sentRest);
  expect(body).toBeInstanceOf(Uint8Array);
  expect([...(body ?? [])]).toEqual([...(sent ?? [])]);
}

export function storeContract({ open }: ContractContext): void {
  describe('the start handler', () => {
    it('is given the handle and payload of a message that starts at once', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a' });
      expectPayload(d, 'a1', 0);
      expect(d.starts[0]).toMatchObject({ key: 'a', attempt: 0 });
    });

    it('is given the payload of a waiter handed the token', async () => {
      const d = await open();
      await d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 1 }) });
      await d.at(5).finish('a1');
      await d.at(6).finish('a2');
      expectPayload(d, 'a2', 0);
      expectPayload(d, 'a3', 0);
    });

    it('is given the payload of a delayed message and of a retry when the store wakes', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a', notBefore: 100 });
      await d.publish('b1', { key: 'b' });
      await d.finish('b1', { ok: false, retryDelayMs: ms(50) });
      await d.tick(100);
      expectPayload(d, 'a1', 0);
      expectPayload(d, 'b1', 1);
    });

    it('is given a handle that finishes the attempt it started', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a', retries: 1 });
      await d.finish('a1', FAIL);
      await d.tick(d.now + 20_000);
      const [first, second] = d.starts;
      expect([first?.attempt, second?.attempt]).toEqual([0, 1]);
      // The driver finishes with the handle of the latest start, as the controller does.
      expect(await d.finish('a1')).toMatchObject([
        { type: 'delivery:succeeded', attempt: 1 },
        {},
        {},
      ]);
    });
  });

  describe('the events handler', () => {
    it('hears every event once, in batches whose seqs follow on', async () => {
      const d = await open({ globalParallelism: 2 });
      await d.publishMany('a', 4, { key: 'a', config: cfg({ parallelism: 1 }) });
      await d.pause('a');
      await d.at(10).finish('a1');
      await d.resume('a');
      await d.eventsSettled();
      expect(d.heard.map((e) => e.seq)).toEqual(d.log.map((_, i) => i + 1));
    });
  });

  describe('reads', () => {
    it('carries a message’s Workflow step into its accepted event and its key’s entries', async () => {
      const d = await open();
      const step = (n: number) => ({ runId: 'wfr_1', step: `step ${n} “ü”` });
      const events = [
        ...(await d.publish('a1', {
          key: 'a',
          config: cfg({ parallelism: 1 }),
          workflow: step(1),
        })),
        ...(await d.publish('a2', { key: 'a', workflow: step(2) })),
        ...(await d.publish('a3', { key: 'a' })),
      ];
      expect(only(events, 'message:accepted').map((e) => e.workflow)).toEqual([
        step(1),
        step(2),
        undefined,
      ]);
      expect(only(events, 'message:accepted')[2]).not.toHaveProperty('workflow');
      const k = (await d.key('a'))!;
      expect(k.active.map((e) => e.workflow)).toEqual([step(1)]);
      expect(k.waiting.map((e) => e.workflow)).toEqual([step(2), undefined]);
      expect(k.waiting[1]).not.toHaveProperty('workflow');
      const snap = (await d.snapshot()).engine.keys.find((s) => s.key === 'a')!;
      expect(snap.waiting.map((e) => e.workflow)).toEqual([step(2), undefined]);
      // Handed the token, the waiter keeps it.
      await d.finish('a1');
      expect((await d.key('a'))!.active.map((e) => e.workflow)).toEqual([step(2)]);
    });

    it('reads one key with its waitlist listed up to the limit', async () => {
      const d = await open();
      await d.publishMany('a', 6, { key: 'a', config: cfg({ parallelism: 1 }) });
      const two = await d.key('a', 2);
      expect(two).toMatchObject({ waitListSize: 5, inFlight: 1 });
      expect(two.waiting.map((w) => w.messageId)).toEqual(['a2', 'a3']);
      expect(two.active.map((a) => a.messageId)).toEqual(['a1']);
      expect((await d.key('a', 0)).waiting).toEqual([]);
    });

    it('answers nothing for a key it does not have', async () => {
      const d = await open();
      expect(await d.store.key(keyId('nope'))).toBeUndefined();
      expect(await d.store.keys()).toEqual([]);
    });

    it('reads every key, counts only', async () => {
      const d = await open();
      await d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 1 }) });
      await d.publish('b1', { key: 'b', notBefore: 500 });
      await d.publish('m1');
      const keys = await d.store.keys();
      expect(keys.map((k) => k.key).sort()).toEqual(['$', 'a', 'b']);
      expect(keys.find((k) => k.key === 'a')).toMatchObject({
        inFlight: 1,
        waitListSize: 2,
        waiting: [],
      });
      expect(keys.find((k) => k.key === 'b')).toMatchObject({ scheduled: 1, inFlight: 0 });
    });

    it('reads a key’s rate window as it stands now', async () => {
      const d = await open();
      await d.publishMany('a', 2, { key: 'a', config: cfg({ rate: 2 }) });
      expect(await d.key('a')).toMatchObject({ rateCount: 2, ratePeriodStart: 0 });
      d.at(1500);
      expect(await d.key('a')).toMatchObject({ rateCount: 0, ratePeriodStart: 1000 });
    });

    it('reads a message in flight with when it became ready and started', async () => {
      const d = await open();
      await d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }) });
      await d.at(70).finish('a1');
      expect(await d.message('a2')).toEqual({
        id: 'a2',
        key: 'a',
        state: 'in-flight',
        attempt: 0,
        maxRetries: 3,
        readyAt: 0,
        startedAt: 70,
        dueAt: null,
      });
      expect((await d.key('a')).active).toMatchObject([{ messageId: 'a2', startedAt: 70 }]);
    });

    it('snapshots every key with the seq of the last event, the time and the stats', async () => {
      const d = await open({ globalParallelism: 5 });
      await d.publishMany('a', 4, { key: 'a', config: cfg({ parallelism: 1 }) });
      await d.publish('b1', { key: 'b' });
      await d.at(30).finish('b1');
      d.at(40);
      const snap = await d.snapshot(2);
      expect(snap).toMatchObject({ seq: d.log.length, at: 40, policy: 'fifo' });
      expect(snap.engine).toMatchObject({
        globalParallelism: 5,
        globalInFlight: 1,
        stats: { accepted: 5, delivered: 1, dead: 0, cancelled: 0 },
      });
      const a = snap.engine.keys.find((k) => k.key === 'a');
      expect(a?.waiting.map((w) => w.messageId)).toEqual(['a2', 'a3']);
      expect(a?.waitListSize).toBe(3);
    });

    it('tells the time of its clock', async () => {
      const d = await open();
      expect(d.store.now()).toBe(0);
      d.at(1234);
      expect(d.store.now()).toBe(1234);
    });
  });
}
