/** Parallelism, the waitlist, handoff and events (refused input is contract-invalid.ts). */
import { describe, expect, it } from 'vitest';
import { ENGINE_EVENT_TYPES, type EngineEvent } from '../../../shared/events';
import type { ContractContext } from './contract-context';
import { FAIL, cfg, only, started, type StoreDriver } from './store-driver';

export function basicsContract({ open }: ContractContext): void {
  describe('per-key parallelism', () => {
    it('starts a message at once when a token is free', async () => {
      const d = await open();
      const ev = await d.publish('a1', { key: 'a', config: cfg({ parallelism: 2 }) });
      const [acq] = only(ev, 'token:acquired');
      expect(acq).toMatchObject({ messageId: 'a1', attempt: 0, inFlight: 1, waitedMs: 0 });
      expect(await d.state('a1')).toBe('in-flight');
      expect(await d.key('a')).toMatchObject({ parallelism: 2, inFlight: 1, waitListSize: 0 });
    });

    it('never has more deliveries in flight than tokens', async () => {
      const d = await open();
      const ev = await d.publishMany('a', 5, { key: 'a', config: cfg({ parallelism: 3 }) });
      expect(started(ev)).toEqual(['a1', 'a2', 'a3']);
      expect((await d.key('a')).inFlight).toBe(3);
      expect(await d.waiting('a')).toEqual(['a4', 'a5']);
    });

    it('never rejects a message for being over the limit', async () => {
      const d = await open();
      const ev = await d.publishMany('a', 50, { key: 'a', config: cfg({ parallelism: 1 }) });
      expect(only(ev, 'message:accepted')).toHaveLength(50);
      expect((await d.stats()).accepted).toBe(50);
      expect((await d.key('a')).waitListSize).toBe(49);
    });

    it('limits each key separately', async () => {
      const d = await open();
      await d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }) });
      const ev = await d.publishMany('b', 2, { key: 'b', config: cfg({ parallelism: 1 }) });
      expect(started(ev)).toEqual(['b1']);
      expect(await d.active('a')).toEqual(['a1']);
      expect(await d.active('b')).toEqual(['b1']);
    });

    it('does not limit a key without parallelism', async () => {
      const d = await open();
      const ev = await d.publishMany('a', 20, { key: 'a' });
      expect(started(ev)).toHaveLength(20);
      expect((await d.key('a')).parallelism).toBeNull();
    });

    it('puts messages without a key under the pseudo-key "$"', async () => {
      const d = await open();
      const ev = await d.publish('m1');
      expect(ev.every((e) => e.key === '$')).toBe(true);
      expect((await d.message('m1'))?.key).toBe('$');
    });
  });

  describe('waitlist', () => {
    it('says why each message waits and where, 1-based', async () => {
      const d = await open();
      const ev = await d.publishMany('a', 4, { key: 'a', config: cfg({ parallelism: 2 }) });
      const w = only(ev, 'message:waitlisted');
      expect(w.map((e) => [e.messageId, e.reason, e.position])).toEqual([
        ['a3', 'parallelism', 1],
        ['a4', 'parallelism', 2],
      ]);
      const k = await d.key('a');
      expect(k.waiting.map((x) => [x.messageId, x.reason])).toEqual([
        ['a3', 'parallelism'],
        ['a4', 'parallelism'],
      ]);
      expect(k.blockedBy).toBe('parallelism');
    });

    it('gives rate as the reason when the window is used up', async () => {
      const d = await open();
      const ev = await d.publishMany('a', 2, { key: 'a', config: cfg({ rate: 1 }) });
      expect(only(ev, 'message:waitlisted')).toMatchObject([
        { messageId: 'a2', reason: 'rate', position: 1 },
      ]);
      expect((await d.key('a')).blockedBy).toBe('rate');
    });

    it('gives paused as the reason while the key is paused', async () => {
      const d = await open();
      await d.pause('a');
      const ev = await d.publish('a1', { key: 'a', config: cfg({ parallelism: 5 }) });
      expect(only(ev, 'message:waitlisted')).toMatchObject([
        { messageId: 'a1', reason: 'paused', position: 1 },
      ]);
    });

    it('gives global as the reason when the global limit is reached', async () => {
      const d = await open({ globalParallelism: 1 });
      await d.publish('a1', { key: 'a' });
      const ev = await d.publish('b1', { key: 'b' });
      expect(only(ev, 'message:waitlisted')).toMatchObject([
        { key: 'b', messageId: 'b1', reason: 'global', position: 1 },
      ]);
    });

    it('reports the waiting message through its view', async () => {
      const d = await open();
      await d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }) });
      expect(await d.message('a2')).toMatchObject({
        state: 'waiting',
        readyAt: 0,
        startedAt: null,
        dueAt: null,
      });
    });
  });

  describe('when a delivery ends', () => {
    it('hands its token to the oldest waiter, with how long it waited', async () => {
      const d = await open();
      await d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 1 }) });
      const ev = await d.at(250).finish('a1');
      expect(only(ev, 'token:handed-off')).toMatchObject([
        { key: 'a', from: 'a1', to: 'a2', attempt: 0, waitedMs: 250 },
      ]);
      expect(only(ev, 'token:released')).toEqual([]);
      expect(await d.active('a')).toEqual(['a2']);
      expect(await d.waiting('a')).toEqual(['a3']);
    });

    it('reports success before the handoff', async () => {
      const d = await open();
      await d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }) });
      const ev = await d.at(40).finish('a1', { ok: true, status: 201 });
      expect(ev.map((e) => e.type)).toEqual([
        'delivery:succeeded',
        'message:delivered',
        'token:handed-off',
      ]);
      expect(only(ev, 'delivery:succeeded')[0]).toMatchObject({
        messageId: 'a1',
        status: 201,
        durationMs: 40,
      });
    });

    it('releases the token when nobody waits', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a', config: cfg({ parallelism: 1 }) });
      const ev = await d.at(10).finish('a1');
      expect(only(ev, 'token:released')).toMatchObject([{ messageId: 'a1', inFlight: 0 }]);
      expect((await d.key('a')).inFlight).toBe(0);
      expect(await d.message('a1')).toBeUndefined();
      expect((await d.stats()).delivered).toBe(1);
    });

    it('releases the token when the waiter may not start (rate)', async () => {
      const d = await open();
      const c = cfg({ parallelism: 1, rate: 1, period: 1000 });
      await d.publishMany('a', 2, { key: 'a', config: c });
      const ev = await d.at(100).finish('a1');
      expect(only(ev, 'token:handed-off')).toEqual([]);
      expect(only(ev, 'token:released')).toMatchObject([{ messageId: 'a1', inFlight: 0 }]);
      expect((await d.key('a')).blockedBy).toBe('rate');
      expect(await d.waiting('a')).toEqual(['a2']);
    });

    it('releases the token when the key is paused', async () => {
      const d = await open();
      await d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }) });
      await d.pause('a');
      const ev = await d.finish('a1');
      expect(only(ev, 'token:released')).toHaveLength(1);
      expect(started(ev)).toEqual([]);
    });

    it('hands the token off after a failure too', async () => {
      const d = await open();
      await d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }), retries: 0 });
      const ev = await d.finish('a1', FAIL);
      expect(only(ev, 'token:handed-off')).toMatchObject([{ from: 'a1', to: 'a2' }]);
    });
  });

  describe('events', () => {
    async function busyRun(): Promise<{ d: StoreDriver; times: number[] }> {
      const d = await open({ globalParallelism: 3 });
      const times: number[] = [];
      const step = async (t: number, f: () => Promise<EngineEvent[]>): Promise<void> => {
        d.at(t);
        for (const _ of await f()) times.push(t);
      };
      const a = { key: 'a', config: cfg({ parallelism: 2, rate: 3 }) };
      await step(0, () => d.publishMany('a', 4, a));
      await step(5, () => d.publish('b1', { key: 'b', retries: 1 }));
      await step(7, () => d.publish('b2', { key: 'b', notBefore: 900 }));
      await step(10, () => d.finish('a1'));
      await step(20, () => d.finish('b1', FAIL));
      await step(30, () => d.pause('a'));
      await step(40, () => d.finish('a2'));
      await step(50, () => d.resume('a'));
      await step(60, () => d.pin('a', { parallelism: 1 }));
      await step(70, () => d.unpin('a', { parallelism: true }));
      await step(80, () => d.resetRate('a'));
      await step(90, () => d.cancel('a4'));
      await step(95, () => d.finish('a3', { ok: false, status: 489, nonRetryable: true }));
      await step(100, () => d.setGlobal(null));
      await step(2000, () => d.tick());
      await step(20000, () => d.tick());
      await step(30000, () => d.forgetIdle(1000));
      return { d, times };
    }

    it('numbers every event with an increasing seq, from 1', async () => {
      const { d } = await busyRun();
      expect(d.log.length).toBeGreaterThan(30);
      d.log.forEach((e, i) => expect(e.seq).toBe(i + 1));
      expect(await d.lastSeq()).toBe(d.log.length);
    });

    it('stamps every event with the command time', async () => {
      const { d, times } = await busyRun();
      d.log.forEach((e, i) => expect(e.at).toBe(times[i]));
    });

    it('names the key and the messages involved', async () => {
      const { d } = await busyRun();
      for (const e of d.log) {
        expect(ENGINE_EVENT_TYPES).toContain(e.type);
        expect(typeof e.key).toBe('string');
        if (e.type === 'token:handed-off') {
          expect(e.from).toMatch(/^[ab]\d$/);
          expect(e.to).toMatch(/^[ab]\d$/);
          expect(e.key).toBe(e.to[0]);
        } else if ('messageId' in e) {
          expect(e.key).toBe(e.messageId[0]);
        } else if (e.type === 'global:configured') {
          expect(e.key).toBe('$');
        }
      }
      const types = new Set(d.log.map((e) => e.type));
      for (const t of ENGINE_EVENT_TYPES) {
        if (t !== 'lease:expired') expect(types).toContain(t);
      }
    });

    it('returns only the events the command caused', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a' });
      expect(await d.tick(5)).toEqual([]);
      expect((await d.finish('a1')).every((e) => e.at === 5)).toBe(true);
    });

    it('tells the events handler every event once, in seq order, across commands', async () => {
      const { d } = await busyRun();
      await d.eventsSettled();
      expect(d.heard).toEqual(d.log);
    });
  });
}
