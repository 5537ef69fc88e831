/** Global parallelism and its fairness across keys. */
import { describe, expect, it } from 'vitest';
import { cfg, only, started } from './store-driver';
import type { ContractContext } from './contract-context';

export function globalContract({ open }: ContractContext): void {
  it('limits in-flight deliveries across keys (store option)', async () => {
    const d = await open({ globalParallelism: 2 });
    await d.publish('a1', { key: 'a' });
    await d.publish('b1', { key: 'b' });
    const ev = await d.publish('c1', { key: 'c' });
    expect(only(ev, 'message:waitlisted')).toMatchObject([{ key: 'c', reason: 'global' }]);
    expect(await d.global()).toEqual({ parallelism: 2, inFlight: 2 });
    expect((await d.snapshot()).engine).toMatchObject({ globalParallelism: 2, globalInFlight: 2 });
  });

  it('counts messages without a key too', async () => {
    const d = await open({ globalParallelism: 1 });
    await d.publish('m1');
    expect(only(await d.publish('a1', { key: 'a' }), 'message:waitlisted')).toMatchObject([
      { reason: 'global' },
    ]);
  });

  it('gives a freed slot to another key’s waiter', async () => {
    const d = await open({ globalParallelism: 2 });
    await d.publish('a1', { key: 'a' });
    await d.publish('b1', { key: 'b' });
    await d.publish('c1', { key: 'c' });
    const ev = await d.at(30).finish('a1');
    expect(only(ev, 'token:released')).toMatchObject([{ key: 'a', messageId: 'a1' }]);
    expect(only(ev, 'token:acquired')).toMatchObject([{ key: 'c', messageId: 'c1', waitedMs: 30 }]);
  });

  it('hands the token off within the key when only that key waits for a slot', async () => {
    const d = await open({ globalParallelism: 2 });
    await d.publishMany('a', 3, { key: 'a' });
    const ev = await d.at(10).finish('a1');
    expect(only(ev, 'token:handed-off')).toMatchObject([{ from: 'a1', to: 'a3', waitedMs: 10 }]);
    expect(only(ev, 'token:released')).toEqual([]);
  });

  it('hands the token off when the key that waited for a slot has nothing left waiting', async () => {
    const d = await open({ globalParallelism: 2 });
    await d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }) });
    await d.publishMany('b', 2, { key: 'b' });
    await d.cancel('b2');
    const ev = await d.finish('a1');
    expect(only(ev, 'token:handed-off')).toMatchObject([{ from: 'a1', to: 'a2' }]);
  });

  describe('fairness', () => {
    it('serves a key waiting for a global slot before the releasing key’s own waiters', async () => {
      const d = await open({ globalParallelism: 2 });
      await d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 1 }) });
      await d.publish('x1', { key: 'x' });
      await d.publish('b1', { key: 'b' }); // global is full: b waits for a slot
      const ev = await d.finish('a1');
      expect(started(ev)).toEqual(['b1']);
      expect(only(ev, 'token:handed-off')).toEqual([]);
      expect(await d.waiting('a')).toEqual(['a2', 'a3']);
      // a's waiters get the next slot, even one freed by another key.
      expect(started(await d.finish('x1'))).toEqual(['a2']);
    });

    it('serves keys in the order they began to wait, one start per key per turn', async () => {
      const d = await open({ globalParallelism: 1 });
      await d.publish('x1', { key: 'x' });
      await d.publishMany('b', 2, { key: 'b' });
      await d.publishMany('c', 2, { key: 'c' });
      await d.finish('x1');
      await d.finish('b1');
      await d.finish('c1');
      await d.finish('b2');
      expect(started(d.log)).toEqual(['x1', 'b1', 'c1', 'b2', 'c2']);
    });

    it('lets a key first in line hand off, then sends it behind the other waiting keys', async () => {
      const d = await open({ globalParallelism: 2 });
      await d.publish('a1', { key: 'a' });
      await d.publish('b1', { key: 'b' });
      await d.publish('a2', { key: 'a' });
      await d.publish('a3', { key: 'a' });
      await d.publish('b2', { key: 'b' }); // in line for a slot: a, then b
      const first = await d.finish('a1');
      expect(only(first, 'token:handed-off')).toMatchObject([{ from: 'a1', to: 'a2' }]);
      // a had its turn: b goes next, even though a2 of key a frees the slot.
      expect(started(await d.finish('a2'))).toEqual(['b2']);
      expect(started(await d.finish('b1'))).toEqual(['a3']);
    });

    it('shares a raised limit round-robin among waiting keys', async () => {
      const d = await open({ globalParallelism: 1 });
      await d.publish('x1', { key: 'x' });
      await d.publishMany('b', 3, { key: 'b' });
      await d.publishMany('c', 3, { key: 'c' });
      expect(started(await d.setGlobal(5))).toEqual(['b1', 'c1', 'b2', 'c2']);
    });
  });

  describe('setGlobalParallelism', () => {
    it('emits global:configured on the pseudo-key', async () => {
      const d = await open();
      expect(await d.at(3).setGlobal(4)).toEqual([
        { type: 'global:configured', seq: 1, at: 3, key: '$', parallelism: 4 },
      ]);
      expect((await d.global()).parallelism).toBe(4);
    });

    it('starts waiters when the limit is raised or dropped', async () => {
      const d = await open({ globalParallelism: 1 });
      await d.publishMany('a', 4, { key: 'a', config: cfg({ parallelism: 3 }) });
      await d.publish('b1', { key: 'b' });
      expect(started(await d.setGlobal(2))).toEqual(['a2']);
      expect(started(await d.setGlobal(null))).toEqual(['b1', 'a3']);
      expect((await d.key('a')).blockedBy).toBe('parallelism');
    });

    it('applies a limit set later to new starts only', async () => {
      const d = await open();
      await d.publishMany('a', 3, { key: 'a' });
      expect(started(await d.setGlobal(1))).toEqual([]);
      expect((await d.key('a')).inFlight).toBe(3);
      expect(only(await d.publish('b1', { key: 'b' }), 'message:waitlisted')).toMatchObject([
        { reason: 'global' },
      ]);
    });

    describe('when lowered below the in-flight count', () => {
      it('starts nothing until global in-flight drops below the limit', async () => {
        const d = await open({ globalParallelism: 4 });
        await d.publishMany('a', 4, { key: 'a' });
        await d.publishMany('b', 2, { key: 'b' });
        await d.setGlobal(2);
        expect(started(await d.finish('a1'))).toEqual([]);
        expect(started(await d.finish('a2'))).toEqual([]);
        expect((await d.global()).inFlight).toBe(2);
        expect(started(await d.finish('a3'))).toEqual(['b1']);
        expect((await d.global()).inFlight).toBe(2);
      });
    });
  });
}
