import { describe, it, expect } from 'vitest';
import { Driver, cfg, only, started } from './testing/driver';

describe('FlowEngine global parallelism', () => {
  it('limits in-flight deliveries across keys (constructor option)', () => {
    const d = new Driver({ globalParallelism: 2 });
    d.publish('a1', { key: 'a' });
    d.publish('b1', { key: 'b' });
    const ev = d.publish('c1', { key: 'c' });
    expect(only(ev, 'message:waitlisted')).toMatchObject([{ key: 'c', reason: 'global' }]);
    expect(d.engine.globalInFlightCount).toBe(2);
    expect(d.engine.snapshot(d.now)).toMatchObject({ globalParallelism: 2, globalInFlight: 2 });
  });

  it('counts messages without a key too', () => {
    const d = new Driver({ globalParallelism: 1 });
    d.publish('m1');
    expect(only(d.publish('a1', { key: 'a' }), 'message:waitlisted')).toMatchObject([
      { reason: 'global' },
    ]);
  });

  it('gives a freed slot to another key’s waiter', () => {
    const d = new Driver({ globalParallelism: 2 });
    d.publish('a1', { key: 'a' });
    d.publish('b1', { key: 'b' });
    d.publish('c1', { key: 'c' });
    const ev = d.at(30).finish('a1');
    expect(only(ev, 'token:released')).toMatchObject([{ key: 'a', messageId: 'a1' }]);
    expect(only(ev, 'token:acquired')).toMatchObject([{ key: 'c', messageId: 'c1', waitedMs: 30 }]);
  });

  it('hands the token off within the key when only that key waits for a slot', () => {
    const d = new Driver({ globalParallelism: 2 });
    d.publishMany('a', 3, { key: 'a' });
    const ev = d.at(10).finish('a1');
    expect(only(ev, 'token:handed-off')).toMatchObject([{ from: 'a1', to: 'a3', waitedMs: 10 }]);
    expect(only(ev, 'token:released')).toEqual([]);
  });

  it('hands the token off when the key that waited for a slot has nothing left waiting', () => {
    const d = new Driver({ globalParallelism: 2 });
    d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }) });
    d.publishMany('b', 2, { key: 'b' });
    d.cancel('b2');
    const ev = d.finish('a1');
    expect(only(ev, 'token:handed-off')).toMatchObject([{ from: 'a1', to: 'a2' }]);
  });

  describe('fairness', () => {
    it('serves a key waiting for a global slot before the releasing key’s own waiters', () => {
      const d = new Driver({ globalParallelism: 2 });
      d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 1 }) });
      d.publish('x1', { key: 'x' });
      d.publish('b1', { key: 'b' }); // global is full: b waits for a slot
      const ev = d.finish('a1');
      expect(started(ev)).toEqual(['b1']);
      expect(only(ev, 'token:handed-off')).toEqual([]);
      expect(d.waiting('a')).toEqual(['a2', 'a3']);
      // a's waiters get the next slot, even one freed by another key.
      expect(started(d.finish('x1'))).toEqual(['a2']);
    });

    it('serves keys in the order they began to wait, one start per key per turn', () => {
      const d = new Driver({ globalParallelism: 1 });
      d.publish('x1', { key: 'x' });
      d.publishMany('b', 2, { key: 'b' });
      d.publishMany('c', 2, { key: 'c' });
      d.finish('x1');
      d.finish('b1');
      d.finish('c1');
      d.finish('b2');
      expect(started(d.log)).toEqual(['x1', 'b1', 'c1', 'b2', 'c2']);
    });

    it('lets a key first in line hand off, then sends it behind the other waiting keys', () => {
      const d = new Driver({ globalParallelism: 2 });
      d.publish('a1', { key: 'a' });
      d.publish('b1', { key: 'b' });
      d.publish('a2', { key: 'a' });
      d.publish('a3', { key: 'a' });
      d.publish('b2', { key: 'b' }); // in line for a slot: a, then b
      const first = d.finish('a1');
      expect(only(first, 'token:handed-off')).toMatchObject([{ from: 'a1', to: 'a2' }]);
      // a had its turn: b goes next, even though a2 of key a frees the slot.
      expect(started(d.finish('a2'))).toEqual(['b2']);
      expect(started(d.finish('b1'))).toEqual(['a3']);
    });

    it('shares a raised limit round-robin among waiting keys', () => {
      const d = new Driver({ globalParallelism: 1 });
      d.publish('x1', { key: 'x' });
      d.publishMany('b', 3, { key: 'b' });
      d.publishMany('c', 3, { key: 'c' });
      expect(started(d.setGlobal(5))).toEqual(['b1', 'c1', 'b2', 'c2']);
    });
  });

  describe('setGlobalParallelism', () => {
    it('emits global:configured on the pseudo-key', () => {
      const d = new Driver();
      expect(d.at(3).setGlobal(4)).toEqual([
        { type: 'global:configured', seq: 1, at: 3, key: '$', parallelism: 4 },
      ]);
      expect(d.engine.globalParallelism).toBe(4);
    });

    it('starts waiters when the limit is raised or dropped', () => {
      const d = new Driver({ globalParallelism: 1 });
      d.publishMany('a', 4, { key: 'a', config: cfg({ parallelism: 3 }) });
      d.publish('b1', { key: 'b' });
      expect(started(d.setGlobal(2))).toEqual(['a2']);
      expect(started(d.setGlobal(null))).toEqual(['b1', 'a3']);
      expect(d.key('a').blockedBy).toBe('parallelism');
    });

    it('applies a limit set later to new starts only', () => {
      const d = new Driver();
      d.publishMany('a', 3, { key: 'a' });
      expect(started(d.setGlobal(1))).toEqual([]);
      expect(d.key('a').inFlight).toBe(3);
      expect(only(d.publish('b1', { key: 'b' }), 'message:waitlisted')).toMatchObject([
        { reason: 'global' },
      ]);
    });

    describe('when lowered below the in-flight count', () => {
      it('starts nothing until global in-flight drops below the limit', () => {
        const d = new Driver({ globalParallelism: 4 });
        d.publishMany('a', 4, { key: 'a' });
        d.publishMany('b', 2, { key: 'b' });
        d.setGlobal(2);
        expect(started(d.finish('a1'))).toEqual([]);
        expect(started(d.finish('a2'))).toEqual([]);
        expect(d.engine.globalInFlightCount).toBe(2);
        expect(started(d.finish('a3'))).toEqual(['b1']);
        expect(d.engine.globalInFlightCount).toBe(2);
      });
    });
  });
});
