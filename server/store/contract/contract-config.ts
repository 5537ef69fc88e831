/** A key's configuration from messages, pins and unpins. */
import { describe, expect, it } from 'vitest';
import { cfg, only, started } from './store-driver';
import type { ContractContext } from './contract-context';

const MINUTE = 60_000;

export function configContract({ open }: ContractContext): void {
  describe('when a message brings a config', () => {
    it('makes the latest message’s config the key’s', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a', config: cfg({ parallelism: 1, rate: 5, period: MINUTE }) });
      const ev = await d.publish('a2', {
        key: 'a',
        config: cfg({ parallelism: 3, rate: 7, period: 2000 }),
      });
      expect(only(ev, 'key:configured')).toMatchObject([
        { source: 'message', parallelism: 3, rate: 7, periodMs: 2000, pinnedParallelism: false },
      ]);
      expect(await d.key('a')).toMatchObject({ parallelism: 3, rate: 7, periodMs: 2000 });
      // The new limit applies to the message that brought it.
      expect(started(ev)).toEqual(['a2']);
    });

    it('configures the key before the message that brings the config joins flow control', async () => {
      const d = await open();
      const ev = await d.publish('a1', { key: 'a', config: cfg({ parallelism: 1 }) });
      expect(ev.map((e) => e.type)).toEqual([
        'message:accepted',
        'key:configured',
        'token:acquired',
      ]);
    });

    it('emits key:configured only when something changed', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a', config: cfg({ parallelism: 2, rate: 4 }) });
      const same = await d.publish('a2', {
        key: 'a',
        config: cfg({ parallelism: 2, rate: 4, period: 1000 }),
      });
      expect(only(same, 'key:configured')).toEqual([]);
      const none = await d.publish('a3', { key: 'a' });
      expect(only(none, 'key:configured')).toEqual([]);
      expect(await d.key('a')).toMatchObject({ parallelism: 2, rate: 4 });
    });

    it('keeps the key’s config when a message carries none', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a', config: cfg({ parallelism: 1 }) });
      await d.publish('a2', { key: 'a' });
      expect((await d.key('a')).parallelism).toBe(1);
      expect(await d.waiting('a')).toEqual(['a2']);
    });

    it('replaces every unpinned part, clearing the ones the message leaves out', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a', config: cfg({ parallelism: 2, rate: 5, period: MINUTE }) });
      const ev = await d.publish('a2', { key: 'a', config: cfg({ parallelism: 4 }) });
      expect(only(ev, 'key:configured')).toMatchObject([
        { parallelism: 4, rate: null, periodMs: 1000 },
      ]);
      await d.publish('a3', { key: 'a', config: cfg({ rate: 9 }) });
      expect(await d.key('a')).toMatchObject({ parallelism: null, rate: 9, periodMs: 1000 });
    });

    it('starts waiters when a message raises the limit', async () => {
      const d = await open();
      await d.publishMany('a', 4, { key: 'a', config: cfg({ parallelism: 1 }) });
      const ev = await d.publish('a5', { key: 'a', config: cfg({ parallelism: 3 }) });
      // The older waiters take the new tokens first.
      expect(started(ev)).toEqual(['a2', 'a3']);
      expect(await d.waiting('a')).toEqual(['a4', 'a5']);
    });

    it('keeps the rate window when a message changes the rate', async () => {
      const d = await open();
      await d.publishMany('a', 3, { key: 'a', config: cfg({ rate: 3, period: MINUTE }) });
      const ev = await d
        .at(100)
        .publish('a4', { key: 'a', config: cfg({ rate: 4, period: MINUTE }) });
      expect(only(ev, 'key:configured')).toMatchObject([{ ratePeriodStart: 0, rateCount: 3 }]);
      expect(only(ev, 'token:acquired')).toMatchObject([{ rateCount: 4, ratePeriodStart: 0 }]);
    });

    it('never reports a window holding more than rate starts when a message shortens the period', async () => {
      const d = await open();
      await d.pause('a'); // the key exists from 0: windows [0, 1000), …
      await d.resume('a');
      await d.at(600).publish('a1', { key: 'a', config: cfg({ rate: 1, period: 1000 }) });
      const ev = await d.at(650).publish('a2', { key: 'a', config: cfg({ rate: 1, period: 100 }) });
      // Whatever window a2 starts in, it must not also hold a1's start at 600.
      for (const e of only(ev, 'token:acquired')) {
        expect(e.ratePeriodStart).toBeGreaterThan(600);
        expect(e.rateCount).toBe(1);
      }
      const [conf] = only(ev, 'key:configured');
      expect(conf?.ratePeriodStart).toBeLessThanOrEqual(650);
      expect(conf !== undefined && (conf.ratePeriodStart > 600 || conf.rateCount === 1)).toBe(true);
    });

    it('keeps the starts of the current window when a message lengthens the period', async () => {
      const d = await open();
      await d.pause('a');
      await d.resume('a');
      await d.at(600).publish('a1', { key: 'a', config: cfg({ rate: 1, period: 1000 }) });
      const ev = await d
        .at(650)
        .publish('a2', { key: 'a', config: cfg({ rate: 1, period: MINUTE }) });
      expect(only(ev, 'message:waitlisted')).toMatchObject([{ messageId: 'a2', reason: 'rate' }]);
      expect(await d.key('a')).toMatchObject({ ratePeriodStart: 0, rateCount: 1 });
      expect(started(await d.tick(MINUTE))).toEqual(['a2']);
    });

    it('ignores the config of a message without a key', async () => {
      const d = await open();
      const ev = await d.publish('m1', { config: cfg({ parallelism: 1 }) });
      await d.publish('m2', { config: cfg({ parallelism: 1 }) });
      expect(only(ev, 'key:configured')).toEqual([]);
      expect(await d.key('$')).toMatchObject({ parallelism: null, inFlight: 2 });
    });
  });

  describe('when parallelism is lowered below the in-flight count', () => {
    it('cancels nothing and retires tokens until in-flight drops below the limit', async () => {
      const d = await open();
      await d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 3 }) });
      await d.publish('a4', { key: 'a', config: cfg({ parallelism: 1 }) });
      expect(await d.key('a')).toMatchObject({ parallelism: 1, inFlight: 3, waitListSize: 1 });
      expect(await d.active('a')).toEqual(['a1', 'a2', 'a3']);

      const e1 = await d.at(10).finish('a1');
      expect(only(e1, 'token:released')).toMatchObject([{ messageId: 'a1', inFlight: 2 }]);
      const e2 = await d.at(20).finish('a2');
      expect(only(e2, 'token:released')).toMatchObject([{ messageId: 'a2', inFlight: 1 }]);
      expect(started([...e1, ...e2])).toEqual([]);
      const e3 = await d.at(30).finish('a3');
      expect(only(e3, 'token:handed-off')).toMatchObject([{ from: 'a3', to: 'a4', waitedMs: 30 }]);
    });

    it('starts nothing new while in-flight is at or over the new limit', async () => {
      const d = await open();
      await d.publishMany('a', 4, { key: 'a', config: cfg({ parallelism: 4 }) });
      await d.publish('a5', { key: 'a', config: cfg({ parallelism: 2 }) });
      await d.publish('a6', { key: 'a', config: cfg({ parallelism: 2 }) });
      await d.finish('a1');
      await d.finish('a2');
      expect((await d.key('a')).inFlight).toBe(2);
      expect(await d.waiting('a')).toEqual(['a5', 'a6']);
    });
  });

  describe('when pinned', () => {
    it('fixes parallelism against messages’ configs', async () => {
      const d = await open();
      const ev = await d.pin('a', { parallelism: 2 });
      expect(only(ev, 'key:configured')).toMatchObject([
        { source: 'pin', parallelism: 2, pinnedParallelism: true, pinnedRate: false },
      ]);
      await d.publishMany('a', 4, { key: 'a', config: cfg({ parallelism: 10 }) });
      expect(await d.key('a')).toMatchObject({ parallelism: 2, inFlight: 2, waitListSize: 2 });
    });

    it('still takes the rate from messages when only parallelism is pinned', async () => {
      const d = await open();
      await d.pin('a', { parallelism: 2 });
      const ev = await d.publish('a1', {
        key: 'a',
        config: cfg({ parallelism: 9, rate: 3, period: MINUTE }),
      });
      expect(only(ev, 'key:configured')).toMatchObject([
        { source: 'message', parallelism: 2, rate: 3, periodMs: MINUTE },
      ]);
    });

    it('fixes rate and period against messages’ configs, taking parallelism from them', async () => {
      const d = await open();
      await d.pin('a', { rate: 2, period: MINUTE });
      const c = cfg({ parallelism: 5, rate: 100, period: 1000 });
      await d.publishMany('a', 3, { key: 'a', config: c });
      expect(await d.key('a')).toMatchObject({
        parallelism: 5,
        rate: 2,
        periodMs: MINUTE,
        pinnedRate: true,
        pinnedParallelism: false,
        inFlight: 2,
        blockedBy: 'rate',
      });
    });

    it('pins the period alone, keeping the rate', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a', config: cfg({ rate: 4 }) });
      await d.pin('a', { period: MINUTE });
      await d.publish('a2', { key: 'a', config: cfg({ rate: 8, period: 1000 }) });
      expect(await d.key('a')).toMatchObject({ rate: 4, periodMs: MINUTE, pinnedRate: true });
    });

    it('resets the rate window', async () => {
      const d = await open();
      await d.publishMany('a', 4, { key: 'a', config: cfg({ rate: 2, period: MINUTE }) });
      const ev = await d.at(700).pin('a', { parallelism: 10 });
      expect(only(ev, 'key:configured')).toMatchObject([{ ratePeriodStart: 700 }]);
      expect(only(ev, 'token:acquired')).toMatchObject([
        { messageId: 'a3', rateCount: 1, ratePeriodStart: 700 },
        { messageId: 'a4', rateCount: 2, ratePeriodStart: 700 },
      ]);
    });

    it('starts waiters when the pin raises the limit', async () => {
      const d = await open();
      await d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 1 }) });
      expect(started(await d.pin('a', { parallelism: 3 }))).toEqual(['a2', 'a3']);
    });
  });

  describe('when unpinned', () => {
    it('keeps the pinned values until a message brings others', async () => {
      const d = await open();
      await d.pin('a', { parallelism: 2, rate: 3, period: MINUTE });
      const ev = await d.unpin('a', { parallelism: true, rate: true });
      expect(only(ev, 'key:configured')).toMatchObject([
        {
          source: 'unpin',
          parallelism: 2,
          rate: 3,
          periodMs: MINUTE,
          pinnedParallelism: false,
          pinnedRate: false,
        },
      ]);
      await d.publish('a1', { key: 'a' });
      expect(await d.key('a')).toMatchObject({ parallelism: 2, rate: 3, periodMs: MINUTE });
      await d.publish('a2', { key: 'a', config: cfg({ parallelism: 7 }) });
      expect(await d.key('a')).toMatchObject({ parallelism: 7, rate: null, periodMs: 1000 });
    });

    it('unpins parallelism and rate independently', async () => {
      const d = await open();
      await d.pin('a', { parallelism: 2, rate: 3 });
      await d.unpin('a', { parallelism: true });
      await d.publish('a1', { key: 'a', config: cfg({ parallelism: 5, rate: 50 }) });
      expect(await d.key('a')).toMatchObject({ parallelism: 5, rate: 3, pinnedRate: true });
      await d.unpin('a', { rate: true });
      await d.publish('a2', { key: 'a', config: cfg({ parallelism: 5, rate: 50 }) });
      expect(await d.key('a')).toMatchObject({ parallelism: 5, rate: 50, pinnedRate: false });
    });
  });
}

export function pauseContract({ open }: ContractContext): void {
  it('lets in-flight deliveries finish', async () => {
    const d = await open();
    await d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 2 }) });
    expect(await d.pause('a')).toMatchObject([{ type: 'key:paused', key: 'a' }]);
    const ev = await d.finish('a1');
    expect(only(ev, 'message:delivered')).toHaveLength(1);
    expect(only(ev, 'token:released')).toMatchObject([{ inFlight: 1 }]);
  });

  it('makes new messages wait with reason paused', async () => {
    const d = await open();
    await d.pause('a');
    const ev = await d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 5 }) });
    expect(started(ev)).toEqual([]);
    expect(only(ev, 'message:waitlisted').map((e) => [e.reason, e.position])).toEqual([
      ['paused', 1],
      ['paused', 2],
    ]);
    expect(await d.key('a')).toMatchObject({ paused: true, blockedBy: 'paused' });
  });

  it('does not start waiters when the rate window rolls over', async () => {
    const d = await open();
    await d.publishMany('a', 3, { key: 'a', config: cfg({ rate: 1 }) });
    await d.pause('a');
    expect(started(await d.tick(5000))).toEqual([]);
    expect(started(await d.resume('a'))).toEqual(['a2']);
  });

  it('emits nothing when paused again', async () => {
    const d = await open();
    await d.pause('a');
    expect(await d.pause('a')).toEqual([]);
  });

  it('starts the waiters on resume, up to the limits', async () => {
    const d = await open();
    await d.pause('a');
    await d.publishMany('a', 5, { key: 'a', config: cfg({ parallelism: 3 }) });
    const ev = await d.at(50).resume('a');
    expect(ev[0]).toMatchObject({ type: 'key:resumed', key: 'a' });
    expect(only(ev, 'token:acquired')).toMatchObject([
      { messageId: 'a1', waitedMs: 50 },
      { messageId: 'a2', waitedMs: 50 },
      { messageId: 'a3', waitedMs: 50 },
    ]);
    expect(await d.key('a')).toMatchObject({ paused: false, blockedBy: 'parallelism' });
  });

  it('emits nothing on resume when not paused', async () => {
    const d = await open();
    expect(await d.resume('a')).toEqual([]);
  });

  it('pauses only its own key', async () => {
    const d = await open();
    await d.pause('a');
    expect(started(await d.publish('b1', { key: 'b' }))).toEqual(['b1']);
  });
}
