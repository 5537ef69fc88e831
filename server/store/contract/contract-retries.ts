/** Retries, delayed messages and cancel. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRIES, defaultBackoff } from '../../../shared/engine/retry';
import { ms } from '../../../shared/engine/units';
import { FAIL, cfg, only, started } from './store-driver';
import type { ContractContext } from './contract-context';

export function retriesContract({ open }: ContractContext): void {
  describe('when an attempt fails', () => {
    it('releases the token and schedules the retry after the default backoff', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a', config: cfg({ parallelism: 1 }) });
      const ev = await d.at(100).finish('a1', { ok: false, status: 503 });
      expect(ev.map((e) => e.type)).toEqual(['delivery:failed', 'token:released']);
      expect(only(ev, 'delivery:failed')[0]).toMatchObject({
        messageId: 'a1',
        attempt: 0,
        status: 503,
        durationMs: 100,
        retryAt: 100 + defaultBackoff(1),
      });
      expect(await d.message('a1')).toMatchObject({
        state: 'retry-scheduled',
        attempt: 1,
        dueAt: 100 + defaultBackoff(1),
      });
      expect(await d.key('a')).toMatchObject({ inFlight: 0, scheduled: 1 });
      expect(await d.nextWakeAt()).toBe(100 + defaultBackoff(1));
    });

    it('hands the freed token to a waiter, not to the failed message', async () => {
      const d = await open();
      await d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }) });
      const ev = await d.finish('a1', FAIL);
      expect(only(ev, 'token:handed-off')).toMatchObject([{ from: 'a1', to: 'a2' }]);
    });

    it('goes back through flow control after its backoff, counting attempts up', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a', config: cfg({ parallelism: 1 }) });
      await d.finish('a1', FAIL);
      const due = defaultBackoff(1);
      expect(started(await d.tick(due - 1))).toEqual([]);
      const ev = await d.tick(due);
      expect(only(ev, 'token:acquired')).toMatchObject([
        { messageId: 'a1', attempt: 1, waitedMs: 0 },
      ]);
      await d.at(due + 10).finish('a1', FAIL);
      expect(await d.message('a1')).toMatchObject({
        attempt: 2,
        dueAt: due + 10 + defaultBackoff(2),
      });
    });

    it('waits for a token like any other start when it comes back', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a', config: cfg({ parallelism: 1 }) });
      await d.finish('a1', { ok: false, retryDelayMs: ms(1000) });
      await d.publish('a2', { key: 'a', config: cfg({ parallelism: 1 }) });
      const ev = await d.tick(1000);
      expect(only(ev, 'message:waitlisted')).toMatchObject([
        { messageId: 'a1', reason: 'parallelism', position: 1 },
      ]);
      expect((await d.message('a1'))?.readyAt).toBe(1000);
    });

    it('counts a retry against the rate', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a', config: cfg({ rate: 1, period: 10_000 }) });
      await d.finish('a1', { ok: false, retryDelayMs: ms(500) });
      const ev = await d.tick(500);
      expect(only(ev, 'message:waitlisted')).toMatchObject([{ messageId: 'a1', reason: 'rate' }]);
      expect(only(await d.tick(10_000), 'token:acquired')).toMatchObject([
        { messageId: 'a1', attempt: 1, rateCount: 1, ratePeriodStart: 10_000 },
      ]);
    });

    it('rejoins the back of the waitlist', async () => {
      const d = await open();
      await d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 1 }) });
      await d.at(10).finish('a1', { ok: false, retryDelayMs: ms(100) });
      await d.at(50).publish('a4', { key: 'a' });
      await d.tick(110);
      expect(await d.waiting('a')).toEqual(['a3', 'a4', 'a1']);
      expect((await d.key('a')).waiting[2]).toMatchObject({
        messageId: 'a1',
        attempt: 1,
        readyAt: 110,
      });
    });

    it('rejoins behind the waiter that took its token when the delay is zero', async () => {
      const d = await open();
      await d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 1 }) });
      const ev = await d.finish('a1', { ok: false, retryDelayMs: ms(0) });
      expect(only(ev, 'token:handed-off')).toMatchObject([{ to: 'a2' }]);
      expect(only(ev, 'message:waitlisted')).toMatchObject([{ messageId: 'a1', position: 2 }]);
      expect(await d.waiting('a')).toEqual(['a3', 'a1']);
    });

    it('uses retryDelayMs instead of the default backoff', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a' });
      const ev = await d.at(5).finish('a1', { ok: false, status: 429, retryDelayMs: ms(3000) });
      expect(only(ev, 'delivery:failed')[0]?.retryAt).toBe(3005);
    });
  });

  describe('when retries are exhausted', () => {
    it('dead-letters after 1 + 3 attempts by default, with a reason', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a' });
      expect((await d.message('a1'))?.maxRetries).toBe(DEFAULT_RETRIES);
      for (let n = 1; n <= 3; n++) {
        await d.finish('a1', { ok: false, status: 500, retryDelayMs: ms(10) });
        await d.tick(d.now + 10);
        expect(await d.message('a1')).toMatchObject({ state: 'in-flight', attempt: n });
      }
      const ev = await d.finish('a1', { ok: false, status: 500 });
      expect(only(ev, 'delivery:failed')).toMatchObject([{ attempt: 3, retryAt: null }]);
      expect(only(ev, 'message:dead-lettered')).toMatchObject([
        { key: 'a', messageId: 'a1', reason: '4 attempts failed: status 500' },
      ]);
      expect(await d.message('a1')).toBeUndefined();
      expect(await d.stats()).toMatchObject({ accepted: 1, dead: 1, delivered: 0 });
    });

    it('dead-letters at the first failure with retries 0, naming the error', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a', retries: 0 });
      const ev = await d.finish('a1', { ok: false, error: 'connect ECONNREFUSED' });
      expect(only(ev, 'message:dead-lettered')[0]?.reason).toBe(
        '1 attempt failed: connect ECONNREFUSED',
      );
      expect((await d.key('a')).scheduled).toBe(0);
    });

    it('delivers a message whose retry succeeds', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a', retries: 1 });
      await d.finish('a1', { ok: false, retryDelayMs: ms(1) });
      await d.tick(1);
      const ev = await d.finish('a1');
      expect(only(ev, 'delivery:succeeded')).toMatchObject([{ attempt: 1 }]);
      expect(only(ev, 'message:delivered')).toHaveLength(1);
    });
  });

  describe('when the error is non-retryable', () => {
    it('dead-letters at once, whatever retries are left', async () => {
      const d = await open();
      const c = { key: 'a', config: cfg({ parallelism: 1 }), retries: 3 };
      await d.publishMany('a', 2, c);
      const ev = await d.finish('a1', { ok: false, status: 489, nonRetryable: true });
      expect(only(ev, 'delivery:failed')).toMatchObject([{ retryAt: null }]);
      expect(only(ev, 'message:dead-lettered')[0]?.reason).toBe('non-retryable error: status 489');
      expect(only(ev, 'token:handed-off')).toMatchObject([{ from: 'a1', to: 'a2' }]);
      expect(await d.nextWakeAt()).toBeNull();
    });
  });
}

export function delayedContract({ open }: ContractContext): void {
  it('holds a message with notBefore in the future without taking a token', async () => {
    const d = await open();
    const ev = await d.publish('a1', {
      key: 'a',
      config: cfg({ parallelism: 1 }),
      notBefore: 5000,
    });
    expect(ev.map((e) => e.type)).toEqual(['message:accepted', 'key:configured']);
    expect(ev[0]).toMatchObject({ messageId: 'a1', notBefore: 5000 });
    expect(await d.message('a1')).toMatchObject({
      state: 'scheduled',
      dueAt: 5000,
      readyAt: null,
    });
    expect(await d.key('a')).toMatchObject({ inFlight: 0, scheduled: 1, waitListSize: 0 });
    expect(started(await d.publish('a2', { key: 'a' }))).toEqual(['a2']);
  });

  it('enters flow control when the store wakes at notBefore', async () => {
    const d = await open();
    await d.publish('a1', { key: 'a', notBefore: 5000 });
    expect(await d.nextWakeAt()).toBe(5000);
    expect(await d.tick(4999)).toEqual([]);
    expect(only(await d.tick(5000), 'token:acquired')).toMatchObject([
      { messageId: 'a1', waitedMs: 0 },
    ]);
    expect((await d.key('a')).scheduled).toBe(0);
  });

  it('starts at once when notBefore is not in the future', async () => {
    const d = await open();
    const ev = await d.at(100).publish('a1', { key: 'a', notBefore: 100 });
    expect(ev[0]).not.toHaveProperty('notBefore');
    expect(started(ev)).toEqual(['a1']);
  });

  it('joins the back of the waitlist when it becomes ready', async () => {
    const d = await open();
    await d.publish('a1', { key: 'a', config: cfg({ parallelism: 1 }), notBefore: 100 });
    await d.publishMany('b', 3, { key: 'a' });
    await d.tick(100);
    expect(await d.waiting('a')).toEqual(['b2', 'b3', 'a1']);
    expect(await d.finish('b1')).toContainEqual(expect.objectContaining({ to: 'b2' }));
  });

  it('is started by any command that runs at or after its time', async () => {
    const d = await open();
    await d.publish('a1', { key: 'a', notBefore: 100 });
    const ev = await d.at(150).publish('b1', { key: 'b' });
    expect(started(ev)).toEqual(['b1', 'a1']);
    expect((await d.message('a1'))?.readyAt).toBe(150);
  });
}

export function cancelContract({ open }: ContractContext): void {
  it('ends a waiting message at once, and the handoff skips it', async () => {
    const d = await open();
    await d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 1 }) });
    expect(await d.cancel('a2')).toMatchObject([
      { type: 'message:cancelled', key: 'a', messageId: 'a2' },
    ]);
    expect((await d.key('a')).waitListSize).toBe(1);
    expect(await d.message('a2')).toBeUndefined();
    expect(only(await d.finish('a1'), 'token:handed-off')).toMatchObject([
      { from: 'a1', to: 'a3' },
    ]);
    expect((await d.stats()).cancelled).toBe(1);
  });

  it('counts positions without cancelled waiters', async () => {
    const d = await open();
    await d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 1 }) });
    await d.cancel('a2');
    expect(only(await d.publish('a4', { key: 'a' }), 'message:waitlisted')).toMatchObject([
      { position: 2 },
    ]);
    expect(await d.waiting('a')).toEqual(['a3', 'a4']);
  });

  it('releases the token when every waiter was cancelled', async () => {
    const d = await open();
    await d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 1 }) });
    await d.cancel('a2');
    await d.cancel('a3');
    expect(only(await d.finish('a1'), 'token:released')).toHaveLength(1);
    expect(await d.key('a')).toMatchObject({ inFlight: 0, waitListSize: 0, blockedBy: null });
  });

  it('ends a delayed message, which then never starts', async () => {
    const d = await open();
    await d.publish('a1', { key: 'a', notBefore: 1000 });
    expect(only(await d.cancel('a1'), 'message:cancelled')).toHaveLength(1);
    expect((await d.key('a')).scheduled).toBe(0);
    expect(await d.nextWakeAt()).toBeNull();
    expect(await d.tick(1000)).toEqual([]);
  });

  it('ends a message waiting for its retry', async () => {
    const d = await open();
    await d.publish('a1', { key: 'a' });
    await d.finish('a1', { ok: false, retryDelayMs: ms(100) });
    expect(only(await d.cancel('a1'), 'message:cancelled')).toHaveLength(1);
    expect((await d.key('a')).scheduled).toBe(0);
    expect(await d.tick(100)).toEqual([]);
  });

  describe('when the message is in flight', () => {
    it('lets the attempt finish and does not retry a failure', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a', retries: 3 });
      expect(await d.cancel('a1')).toEqual([]);
      expect(await d.state('a1')).toBe('in-flight');
      const ev = await d.finish('a1', FAIL);
      expect(only(ev, 'delivery:failed')).toMatchObject([{ retryAt: null }]);
      expect(only(ev, 'message:cancelled')).toMatchObject([{ messageId: 'a1' }]);
      expect(only(ev, 'message:dead-lettered')).toEqual([]);
      expect(await d.stats()).toMatchObject({ cancelled: 1, dead: 0 });
    });

    it('still counts a success as delivered', async () => {
      const d = await open();
      await d.publish('a1', { key: 'a' });
      await d.cancel('a1');
      expect(only(await d.finish('a1'), 'message:delivered')).toHaveLength(1);
    });
  });

  it('emits nothing for an ended message', async () => {
    const d = await open();
    await d.publish('a1', { key: 'a' });
    await d.finish('a1');
    expect(await d.cancel('a1')).toEqual([]);
    expect((await d.stats()).cancelled).toBe(0);
  });
}
