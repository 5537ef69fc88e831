/** Rate windows, with and without parallelism, and resetting them. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PERIOD } from '../../../shared/engine/units';
import { cfg, only, started } from './store-driver';
import type { ContractContext } from './contract-context';

const MINUTE = 60_000;

export function rateContract({ open }: ContractContext): void {
  describe('fixed windows', () => {
    it('uses a one-second period by default', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a', config: cfg({ rate: 2 }) });
      expect((await d.key('a')).periodMs).toBe(DEFAULT_PERIOD);
      expect(DEFAULT_PERIOD).toBe(1000);
    });

    it('starts at most rate messages per window and counts them', async () => {
      const d = await open();
      const ev = await d.publishMany('a', 5, { key: 'a', config: cfg({ rate: 3 }) });
      expect(started(ev)).toEqual(['a1', 'a2', 'a3']);
      expect(only(ev, 'token:acquired').map((e) => [e.rateCount, e.ratePeriodStart])).toEqual([
        [1, 0],
        [2, 0],
        [3, 0],
      ]);
      expect(await d.key('a')).toMatchObject({
        rateCount: 3,
        ratePeriodStart: 0,
        waitListSize: 2,
      });
    });

    it('leaves rateCount out of start events when the key has no rate', async () => {
      const d = await open();
      const ev = await d.publish('a1', { key: 'a', config: cfg({ parallelism: 1 }) });
      const [acq] = only(ev, 'token:acquired');
      expect(acq?.rateCount).toBeUndefined();
      expect(acq?.ratePeriodStart).toBeUndefined();
    });

    it('starts the waiters when the store wakes at the end of the window', async () => {
      const d = await open();
      await d.publishMany('a', 5, { key: 'a', config: cfg({ rate: 2 }) });
      expect(await d.nextWakeAt()).toBe(1000);
      expect(started(await d.tick(999))).toEqual([]);
      const ev = await d.tick(1000);
      expect(started(ev)).toEqual(['a3', 'a4']);
      expect(only(ev, 'token:acquired')).toMatchObject([
        { messageId: 'a3', rateCount: 1, ratePeriodStart: 1000, waitedMs: 1000 },
        { messageId: 'a4', rateCount: 2, ratePeriodStart: 1000, waitedMs: 1000 },
      ]);
      expect(await d.nextWakeAt()).toBe(2000);
      expect(started(await d.tick(2000))).toEqual(['a5']);
      expect(await d.nextWakeAt()).toBeNull();
    });

    it('lines windows up from the key’s first window, without gaps', async () => {
      const d = await open();
      const c = { key: 'a', config: cfg({ rate: 1, period: 1000 }) };
      await d.at(300).publish('a1', c);
      // [300, 1300), [1300, 2300), [2300, 3300) …: 2750 falls in the third window.
      const ev = await d.at(2750).publish('a2', c);
      expect(only(ev, 'token:acquired')).toMatchObject([
        { messageId: 'a2', rateCount: 1, ratePeriodStart: 2300 },
      ]);
      const ev3 = await d.at(3299).publish('a3', c);
      expect(only(ev3, 'message:waitlisted')).toMatchObject([{ reason: 'rate' }]);
      expect(await d.nextWakeAt()).toBe(3300);
      expect(only(await d.tick(3300), 'token:acquired')).toMatchObject([
        { messageId: 'a3', ratePeriodStart: 3300, rateCount: 1 },
      ]);
    });

    it('does not count execution time against the rate', async () => {
      const d = await open();
      await d.publishMany('a', 3, { key: 'a', config: cfg({ rate: 2 }) });
      // Both deliveries end early in the window; their starts still count.
      await d.at(100).finish('a1');
      const ev = await d.at(200).finish('a2');
      expect(started(ev)).toEqual([]);
      expect((await d.key('a')).blockedBy).toBe('rate');
      expect(started(await d.tick(1000))).toEqual(['a3']);
    });

    it('lets a long delivery run across windows without blocking new starts', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a', config: cfg({ rate: 1 }) });
      const ev = await d.at(1500).publish('a2', { key: 'a', config: cfg({ rate: 1 }) });
      expect(started(ev)).toEqual(['a2']);
      expect((await d.key('a')).inFlight).toBe(2);
    });

    it('does not hold a partly used window against the next one', async () => {
      const d = await open();
      const c = { key: 'a', config: cfg({ rate: 3, period: 10_000 }) };
      await d.publish('a1', c);
      const ev = await d.at(10_000).publishMany('b', 3, c);
      expect(started(ev)).toEqual(['b1', 'b2', 'b3']);
    });

    it('starts waiters in order when the window rolls over', async () => {
      const d = await open();
      await d.publishMany('a', 6, { key: 'a', config: cfg({ rate: 2 }) });
      await d.tick(1000);
      await d.tick(2000);
      expect(started(d.log)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'a6']);
    });

    it('lets a waiter that became ready at the window end go behind older waiters', async () => {
      const d = await open();
      await d.publishMany('a', 3, { key: 'a', config: cfg({ rate: 2 }) });
      // b1 arrives exactly when the window rolls, before the store woke: a3 still goes first.
      const ev = await d.at(1000).publish('b1', { key: 'a', config: cfg({ rate: 2 }) });
      expect(started(ev)).toEqual(['a3', 'b1']);
    });
  });

  describe('with parallelism too', () => {
    it('starts 10 in minute 1 and 10 more in minute 2 (rate 10/min, parallelism 20)', async () => {
      const d = await open();
      const c = cfg({ parallelism: 20, rate: 10, period: MINUTE });
      const ev = await d.publishMany('m', 20, { key: 'a', config: c });
      expect(started(ev)).toHaveLength(10);
      expect(only(ev, 'message:waitlisted').every((e) => e.reason === 'rate')).toBe(true);
      // Finishing the first ten frees tokens but not rate budget.
      d.at(5000);
      for (let i = 1; i <= 10; i++) expect(started(await d.finish(`m${i}`))).toEqual([]);
      expect(await d.nextWakeAt()).toBe(MINUTE);
      const ev2 = await d.tick(MINUTE);
      expect(started(ev2)).toHaveLength(10);
      expect(await d.key('a')).toMatchObject({ inFlight: 10, waitListSize: 0, rateCount: 10 });
    });

    it('is held by parallelism inside a window with budget left', async () => {
      const d = await open();
      const c = cfg({ parallelism: 2, rate: 5, period: MINUTE });
      await d.publishMany('m', 6, { key: 'a', config: c });
      expect((await d.key('a')).blockedBy).toBe('parallelism');
      await d.at(10).finish('m1');
      await d.at(20).finish('m2');
      await d.at(30).finish('m3');
      expect(started(d.log)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
      // Fifth start used the budget: the token of m4 goes back to the pool.
      const ev = await d.at(40).finish('m4');
      expect(only(ev, 'token:released')).toHaveLength(1);
      expect((await d.key('a')).blockedBy).toBe('rate');
      expect(started(await d.tick(MINUTE))).toEqual(['m6']);
    });

    it('starts no more than the free tokens when the window rolls', async () => {
      const d = await open();
      await d.publishMany('m', 6, { key: 'a', config: cfg({ parallelism: 3, rate: 2 }) });
      expect(started(await d.tick(1000))).toEqual(['m3']);
      expect(await d.key('a')).toMatchObject({ inFlight: 3, blockedBy: 'parallelism' });
    });
  });

  describe('resetRate', () => {
    it('zeroes the count, starts the window now and lets waiters start', async () => {
      const d = await open();
      await d.publishMany('a', 5, { key: 'a', config: cfg({ rate: 2, period: MINUTE }) });
      const ev = await d.at(1234).resetRate('a');
      expect(only(ev, 'key:rate-reset')).toMatchObject([
        { key: 'a', ratePeriodStart: 1234, at: 1234 },
      ]);
      expect(only(ev, 'token:acquired')).toMatchObject([
        { messageId: 'a3', rateCount: 1, ratePeriodStart: 1234 },
        { messageId: 'a4', rateCount: 2, ratePeriodStart: 1234 },
      ]);
      expect(await d.key('a')).toMatchObject({
        rateCount: 2,
        ratePeriodStart: 1234,
        waitListSize: 1,
      });
      expect(await d.nextWakeAt()).toBe(1234 + MINUTE);
    });

    it('moves the window grid to the reset time', async () => {
      const d = await open();
      const c = { key: 'a', config: cfg({ rate: 1, period: 1000 }) };
      await d.publish('a1', c);
      await d.at(500).resetRate('a');
      await d.at(1400).publish('a2', c);
      await d.at(1499).publish('a3', c);
      expect(only(d.log, 'token:acquired').map((e) => e.ratePeriodStart)).toEqual([0, 500]);
      expect(started(await d.tick(1500))).toEqual(['a3']);
    });

    it('forgets the window timer of the old window', async () => {
      const d = await open();
      await d.publishMany('a', 2, { key: 'a', config: cfg({ rate: 1, period: 1000 }) });
      expect(await d.nextWakeAt()).toBe(1000);
      await d.at(200).resetRate('a');
      expect(await d.nextWakeAt()).toBeNull();
    });

    it('emits the reset on a key with nothing waiting', async () => {
      const d = await open();
      expect(await d.at(7).resetRate('z')).toMatchObject([
        { type: 'key:rate-reset', key: 'z', ratePeriodStart: 7 },
      ]);
    });
  });
}
