import { describe, it, expect } from 'vitest';
import { FlowEngine } from './engine';
import { Driver, FAIL, OK, cfg, only, started } from './testing/driver';
import { ENGINE_EVENT_TYPES, type EngineEvent } from '../events';
import { keyId, messageId, ms } from './units';

describe('FlowEngine', () => {
  describe('per-key parallelism', () => {
    it('starts a message at once when a token is free', () => {
      const d = new Driver();
      const ev = d.publish('a1', { key: 'a', config: cfg({ parallelism: 2 }) });
      const [acq] = only(ev, 'token:acquired');
      expect(acq).toMatchObject({ messageId: 'a1', attempt: 0, inFlight: 1, waitedMs: 0 });
      expect(d.state('a1')).toBe('in-flight');
      expect(d.key('a')).toMatchObject({ parallelism: 2, inFlight: 1, waitListSize: 0 });
    });

    it('never has more deliveries in flight than tokens', () => {
      const d = new Driver();
      const ev = d.publishMany('a', 5, { key: 'a', config: cfg({ parallelism: 3 }) });
      expect(started(ev)).toEqual(['a1', 'a2', 'a3']);
      expect(d.key('a').inFlight).toBe(3);
      expect(d.waiting('a')).toEqual(['a4', 'a5']);
    });

    it('never rejects a message for being over the limit', () => {
      const d = new Driver();
      const ev = d.publishMany('a', 50, { key: 'a', config: cfg({ parallelism: 1 }) });
      expect(only(ev, 'message:accepted')).toHaveLength(50);
      expect(d.engine.stats.accepted).toBe(50);
      expect(d.key('a').waitListSize).toBe(49);
    });

    it('limits each key separately', () => {
      const d = new Driver();
      d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }) });
      const ev = d.publishMany('b', 2, { key: 'b', config: cfg({ parallelism: 1 }) });
      expect(started(ev)).toEqual(['b1']);
      expect(d.active('a')).toEqual(['a1']);
      expect(d.active('b')).toEqual(['b1']);
    });

    it('does not limit a key without parallelism', () => {
      const d = new Driver();
      const ev = d.publishMany('a', 20, { key: 'a' });
      expect(started(ev)).toHaveLength(20);
      expect(d.key('a').parallelism).toBeNull();
    });

    it('puts messages without a key under the pseudo-key "$"', () => {
      const d = new Driver();
      const ev = d.publish('m1');
      expect(ev.every((e) => e.key === '$')).toBe(true);
      expect(d.message('m1')?.key).toBe('$');
    });
  });

  describe('waitlist', () => {
    it('says why each message waits and where, 1-based', () => {
      const d = new Driver();
      const ev = d.publishMany('a', 4, { key: 'a', config: cfg({ parallelism: 2 }) });
      const w = only(ev, 'message:waitlisted');
      expect(w.map((e) => [e.messageId, e.reason, e.position])).toEqual([
        ['a3', 'parallelism', 1],
        ['a4', 'parallelism', 2],
      ]);
      expect(d.key('a').waiting.map((x) => [x.messageId, x.reason])).toEqual([
        ['a3', 'parallelism'],
        ['a4', 'parallelism'],
      ]);
      expect(d.key('a').blockedBy).toBe('parallelism');
    });

    it('gives rate as the reason when the window is used up', () => {
      const d = new Driver();
      const ev = d.publishMany('a', 2, { key: 'a', config: cfg({ rate: 1 }) });
      expect(only(ev, 'message:waitlisted')).toMatchObject([
        { messageId: 'a2', reason: 'rate', position: 1 },
      ]);
      expect(d.key('a').blockedBy).toBe('rate');
    });

    it('gives paused as the reason while the key is paused', () => {
      const d = new Driver();
      d.pause('a');
      const ev = d.publish('a1', { key: 'a', config: cfg({ parallelism: 5 }) });
      expect(only(ev, 'message:waitlisted')).toMatchObject([
        { messageId: 'a1', reason: 'paused', position: 1 },
      ]);
    });

    it('gives global as the reason when the global limit is reached', () => {
      const d = new Driver({ globalParallelism: 1 });
      d.publish('a1', { key: 'a' });
      const ev = d.publish('b1', { key: 'b' });
      expect(only(ev, 'message:waitlisted')).toMatchObject([
        { key: 'b', messageId: 'b1', reason: 'global', position: 1 },
      ]);
    });

    it('reports the waiting message through its view', () => {
      const d = new Driver();
      d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }) });
      expect(d.message('a2')).toMatchObject({
        state: 'waiting',
        readyAt: 0,
        startedAt: null,
        dueAt: null,
      });
    });
  });

  describe('when a delivery ends', () => {
    it('hands its token to the oldest waiter, with how long it waited', () => {
      const d = new Driver();
      d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 1 }) });
      const ev = d.at(250).finish('a1');
      expect(only(ev, 'token:handed-off')).toMatchObject([
        { key: 'a', from: 'a1', to: 'a2', attempt: 0, waitedMs: 250 },
      ]);
      expect(only(ev, 'token:released')).toEqual([]);
      expect(d.active('a')).toEqual(['a2']);
      expect(d.waiting('a')).toEqual(['a3']);
    });

    it('reports success before the handoff', () => {
      const d = new Driver();
      d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }) });
      const ev = d.at(40).finish('a1', { ok: true, status: 201 });
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

    it('releases the token when nobody waits', () => {
      const d = new Driver();
      d.publish('a1', { key: 'a', config: cfg({ parallelism: 1 }) });
      const ev = d.at(10).finish('a1');
      expect(only(ev, 'token:released')).toMatchObject([{ messageId: 'a1', inFlight: 0 }]);
      expect(d.key('a').inFlight).toBe(0);
      expect(d.message('a1')).toBeUndefined();
      expect(d.engine.stats.delivered).toBe(1);
    });

    it('releases the token when the waiter may not start (rate)', () => {
      const d = new Driver();
      d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1, rate: 1, period: 1000 }) });
      const ev = d.at(100).finish('a1');
      expect(only(ev, 'token:handed-off')).toEqual([]);
      expect(only(ev, 'token:released')).toMatchObject([{ messageId: 'a1', inFlight: 0 }]);
      expect(d.key('a').blockedBy).toBe('rate');
      expect(d.waiting('a')).toEqual(['a2']);
    });

    it('releases the token when the key is paused', () => {
      const d = new Driver();
      d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }) });
      d.pause('a');
      const ev = d.finish('a1');
      expect(only(ev, 'token:released')).toHaveLength(1);
      expect(started(ev)).toEqual([]);
    });

    it('hands the token off after a failure too', () => {
      const d = new Driver();
      d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }), retries: 0 });
      const ev = d.finish('a1', FAIL);
      expect(only(ev, 'token:handed-off')).toMatchObject([{ from: 'a1', to: 'a2' }]);
    });
  });

  describe('events', () => {
    function busyRun(): { d: Driver; times: number[] } {
      const d = new Driver({ globalParallelism: 3 });
      const times: number[] = [];
      const step = (t: number, f: () => EngineEvent[]): void => {
        d.at(t);
        for (const _ of f()) times.push(t);
      };
      step(0, () => d.publishMany('a', 4, { key: 'a', config: cfg({ parallelism: 2, rate: 3 }) }));
      step(5, () => d.publish('b1', { key: 'b', retries: 1 }));
      step(7, () => d.publish('b2', { key: 'b', notBefore: 900 }));
      step(10, () => d.finish('a1'));
      step(20, () => d.finish('b1', FAIL));
      step(30, () => d.pause('a'));
      step(40, () => d.finish('a2'));
      step(50, () => d.resume('a'));
      step(60, () => d.pin('a', { parallelism: 1 }));
      step(70, () => d.unpin('a', { parallelism: true }));
      step(80, () => d.resetRate('a'));
      step(90, () => d.cancel('a4'));
      step(95, () => d.finish('a3', { ok: false, status: 489, nonRetryable: true }));
      step(100, () => d.setGlobal(null));
      step(2000, () => d.tick());
      step(20000, () => d.tick());
      step(30000, () => d.forgetIdle(1000));
      return { d, times };
    }

    it('numbers every event with an increasing seq', () => {
      const { d } = busyRun();
      expect(d.log.length).toBeGreaterThan(30);
      d.log.forEach((e, i) => expect(e.seq).toBe(i + 1));
      expect(d.engine.lastSeq).toBe(d.log.length);
    });

    it('stamps every event with the command time', () => {
      const { d, times } = busyRun();
      d.log.forEach((e, i) => expect(e.at).toBe(times[i]));
    });

    it('names the key and the messages involved', () => {
      const { d } = busyRun();
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

    it('returns only the events the command caused', () => {
      const d = new Driver();
      d.publish('a1', { key: 'a' });
      expect(d.tick(5)).toEqual([]);
      expect(d.finish('a1').every((e) => e.at === 5)).toBe(true);
    });
  });

  describe('invalid input', () => {
    const e = (): FlowEngine => new FlowEngine();
    const pub = (config: Parameters<typeof cfg>[0]) => () =>
      e().publish({ id: messageId('x'), key: keyId('k'), config: cfg(config) }, ms(0));

    it('throws for parallelism 0, negative or not whole', () => {
      expect(pub({ parallelism: 0 })).toThrow(RangeError);
      expect(pub({ parallelism: -1 })).toThrow(RangeError);
      expect(pub({ parallelism: 1.5 })).toThrow(RangeError);
      expect(pub({ parallelism: Number.NaN })).toThrow(RangeError);
    });

    it('throws for a rate 0, negative or not whole', () => {
      expect(pub({ rate: 0 })).toThrow(RangeError);
      expect(pub({ rate: -3 })).toThrow(RangeError);
      expect(pub({ rate: 2.5 })).toThrow(RangeError);
    });

    it('throws for a period over one week, zero or not whole', () => {
      const week = 7 * 24 * 3600 * 1000;
      expect(pub({ rate: 1, period: week + 1 })).toThrow(RangeError);
      expect(pub({ rate: 1, period: 0 })).toThrow(RangeError);
      expect(pub({ rate: 1, period: 0.5 })).toThrow(RangeError);
      expect(pub({ rate: 1, period: week })).not.toThrow();
    });

    it('throws for a bad pin, and for a pin of nothing', () => {
      const d = new Driver();
      expect(() => d.pin('a', { parallelism: 0 })).toThrow(RangeError);
      expect(() => d.pin('a', { period: 8 * 24 * 3600 * 1000 })).toThrow(RangeError);
      expect(() => d.pin('a', {})).toThrow(RangeError);
    });

    it('throws for a bad global parallelism', () => {
      expect(() => new FlowEngine({ globalParallelism: 0 })).toThrow(RangeError);
      expect(() => e().setGlobalParallelism(-2, ms(0))).toThrow(RangeError);
      expect(() => e().setGlobalParallelism(1.5, ms(0))).toThrow(RangeError);
    });

    it('throws for negative or fractional retries', () => {
      const d = new Driver();
      expect(() => d.publish('x', { retries: -1 })).toThrow(RangeError);
      expect(() => d.publish('y', { retries: 0.5 })).toThrow(RangeError);
    });

    it('refuses a handle it did not give out, changing nothing', () => {
      const d = new Driver();
      const other = new Driver();
      d.publish('a1', { key: 'a', config: cfg({ parallelism: 1 }) });
      other.publish('b1', { key: 'a', config: cfg({ parallelism: 1 }) });
      const foreign = other.handles.get('b1');
      const forged = { id: messageId('a1'), data: undefined };
      const seq = d.engine.lastSeq;
      for (const h of [foreign, forged]) {
        expect(() => d.engine.finish(h, OK, d.now)).toThrow(/not accepted by this engine/);
        expect(() => d.engine.cancel(h, d.now)).toThrow(/not accepted by this engine/);
        expect(() => d.engine.view(h)).toThrow(/not accepted by this engine/);
      }
      expect(d.engine.lastSeq).toBe(seq);
      expect(d.key('a').inFlight).toBe(1);
      expect(other.message('b1')?.state).toBe('in-flight');
    });

    it('throws when finishing a message that is not in flight', () => {
      const d = new Driver();
      d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }) });
      expect(() => d.finish('a2')).toThrow(/not in flight/);
      d.finish('a1');
      expect(() => d.finish('a1', OK)).toThrow(/not in flight/);
    });

    it('throws for a retryDelayMs that is not a duration, leaving the message in flight', () => {
      const d = new Driver();
      d.publish('a1', { key: 'a' });
      const seq = d.engine.lastSeq;
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -1]) {
        expect(() => d.finish('a1', { ok: false, retryDelayMs: ms(bad) })).toThrow(RangeError);
      }
      expect(d.engine.lastSeq).toBe(seq);
      expect(d.message('a1')?.state).toBe('in-flight');
      expect(d.key('a').inFlight).toBe(1);
    });

    it('changes nothing when a publish is refused', () => {
      const d = new Driver();
      d.publish('a1', { key: 'a', config: cfg({ parallelism: 2 }) });
      const seq = d.engine.lastSeq;
      expect(() => d.publish('a2', { key: 'a', config: cfg({ parallelism: 0 }) })).toThrow();
      expect(d.engine.lastSeq).toBe(seq);
      expect(d.key('a').parallelism).toBe(2);
      expect(d.message('a2')).toBeUndefined();
    });
  });
});
