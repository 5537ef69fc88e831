import { describe, it, expect } from 'vitest';
import { Driver, FAIL, cfg, only, started } from './testing/driver';
import { DEFAULT_RETRIES, MAX_BACKOFF, defaultBackoff } from './retry';
import { ms } from './units';

describe('FlowEngine retries', () => {
  describe('defaultBackoff', () => {
    it('is min(86400, e^(2.5·n)) seconds, in ms', () => {
      expect(defaultBackoff(1)).toBe(12_182);
      expect(defaultBackoff(2)).toBe(148_413);
      expect(defaultBackoff(3)).toBe(1_808_042);
      expect(defaultBackoff(4)).toBe(22_026_466);
      expect(defaultBackoff(5)).toBe(MAX_BACKOFF);
      expect(defaultBackoff(50)).toBe(86_400_000);
    });
  });

  describe('when an attempt fails', () => {
    it('releases the token and schedules the retry after the default backoff', () => {
      const d = new Driver();
      d.publish('a1', { key: 'a', config: cfg({ parallelism: 1 }) });
      const ev = d.at(100).finish('a1', { ok: false, status: 503 });
      expect(ev.map((e) => e.type)).toEqual(['delivery:failed', 'token:released']);
      expect(only(ev, 'delivery:failed')[0]).toMatchObject({
        messageId: 'a1',
        attempt: 0,
        status: 503,
        durationMs: 100,
        retryAt: 100 + defaultBackoff(1),
      });
      expect(d.message('a1')).toMatchObject({
        state: 'retry-scheduled',
        attempt: 1,
        dueAt: 100 + defaultBackoff(1),
      });
      expect(d.key('a')).toMatchObject({ inFlight: 0, scheduled: 1 });
      expect(d.engine.nextWakeAt()).toBe(100 + defaultBackoff(1));
    });

    it('hands the freed token to a waiter, not to the failed message', () => {
      const d = new Driver();
      d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }) });
      const ev = d.finish('a1', FAIL);
      expect(only(ev, 'token:handed-off')).toMatchObject([{ from: 'a1', to: 'a2' }]);
    });

    it('goes back through flow control after its backoff, counting attempts up', () => {
      const d = new Driver();
      d.publish('a1', { key: 'a', config: cfg({ parallelism: 1 }) });
      d.finish('a1', FAIL);
      const due = defaultBackoff(1);
      expect(started(d.tick(due - 1))).toEqual([]);
      const ev = d.tick(due);
      expect(only(ev, 'token:acquired')).toMatchObject([
        { messageId: 'a1', attempt: 1, waitedMs: 0 },
      ]);
      d.at(due + 10).finish('a1', FAIL);
      expect(d.message('a1')).toMatchObject({ attempt: 2, dueAt: due + 10 + defaultBackoff(2) });
    });

    it('waits for a token like any other start when it comes back', () => {
      const d = new Driver();
      d.publish('a1', { key: 'a', config: cfg({ parallelism: 1 }) });
      d.finish('a1', { ok: false, retryDelayMs: ms(1000) });
      d.publish('a2', { key: 'a', config: cfg({ parallelism: 1 }) });
      const ev = d.tick(1000);
      expect(only(ev, 'message:waitlisted')).toMatchObject([
        { messageId: 'a1', reason: 'parallelism', position: 1 },
      ]);
      expect(d.message('a1')?.readyAt).toBe(1000);
    });

    it('counts a retry against the rate', () => {
      const d = new Driver();
      d.publish('a1', { key: 'a', config: cfg({ rate: 1, period: 10_000 }) });
      d.finish('a1', { ok: false, retryDelayMs: ms(500) });
      const ev = d.tick(500);
      expect(only(ev, 'message:waitlisted')).toMatchObject([{ messageId: 'a1', reason: 'rate' }]);
      expect(only(d.tick(10_000), 'token:acquired')).toMatchObject([
        { messageId: 'a1', attempt: 1, rateCount: 1, ratePeriodStart: 10_000 },
      ]);
    });

    it('rejoins the back of the waitlist', () => {
      const d = new Driver();
      d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 1 }) });
      d.at(10).finish('a1', { ok: false, retryDelayMs: ms(100) });
      d.at(50).publish('a4', { key: 'a' });
      d.tick(110);
      expect(d.waiting('a')).toEqual(['a3', 'a4', 'a1']);
      expect(d.key('a').waiting[2]).toMatchObject({ messageId: 'a1', attempt: 1, readyAt: 110 });
    });

    it('rejoins behind the waiter that took its token when the delay is zero', () => {
      const d = new Driver();
      d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 1 }) });
      const ev = d.finish('a1', { ok: false, retryDelayMs: ms(0) });
      expect(only(ev, 'token:handed-off')).toMatchObject([{ to: 'a2' }]);
      expect(only(ev, 'message:waitlisted')).toMatchObject([{ messageId: 'a1', position: 2 }]);
      expect(d.waiting('a')).toEqual(['a3', 'a1']);
    });

    it('uses retryDelayMs instead of the default backoff', () => {
      const d = new Driver();
      d.publish('a1', { key: 'a' });
      const ev = d.at(5).finish('a1', { ok: false, status: 429, retryDelayMs: ms(3000) });
      expect(only(ev, 'delivery:failed')[0]?.retryAt).toBe(3005);
    });
  });

  describe('when retries are exhausted', () => {
    it('dead-letters after 1 + 3 attempts by default, with a reason', () => {
      const d = new Driver();
      d.publish('a1', { key: 'a' });
      expect(d.message('a1')?.maxRetries).toBe(DEFAULT_RETRIES);
      for (let n = 1; n <= 3; n++) {
        d.finish('a1', { ok: false, status: 500, retryDelayMs: ms(10) });
        d.tick(d.now + 10);
        expect(d.message('a1')).toMatchObject({ state: 'in-flight', attempt: n });
      }
      const ev = d.finish('a1', { ok: false, status: 500 });
      expect(only(ev, 'delivery:failed')).toMatchObject([{ attempt: 3, retryAt: null }]);
      expect(only(ev, 'message:dead-lettered')).toMatchObject([
        { key: 'a', messageId: 'a1', reason: '4 attempts failed: status 500' },
      ]);
      expect(d.message('a1')).toBeUndefined();
      expect(d.engine.stats).toMatchObject({ accepted: 1, dead: 1, delivered: 0 });
    });

    it('dead-letters at the first failure with retries 0, naming the error', () => {
      const d = new Driver();
      d.publish('a1', { key: 'a', retries: 0 });
      const ev = d.finish('a1', { ok: false, error: 'connect ECONNREFUSED' });
      expect(only(ev, 'message:dead-lettered')[0]?.reason).toBe(
        '1 attempt failed: connect ECONNREFUSED',
      );
      expect(d.key('a').scheduled).toBe(0);
    });

    it('delivers a message whose retry succeeds', () => {
      const d = new Driver();
      d.publish('a1', { key: 'a', retries: 1 });
      d.finish('a1', { ok: false, retryDelayMs: ms(1) });
      d.tick(1);
      const ev = d.finish('a1');
      expect(only(ev, 'delivery:succeeded')).toMatchObject([{ attempt: 1 }]);
      expect(only(ev, 'message:delivered')).toHaveLength(1);
    });
  });

  describe('when the error is non-retryable', () => {
    it('dead-letters at once, whatever retries are left', () => {
      const d = new Driver();
      d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }), retries: 3 });
      const ev = d.finish('a1', { ok: false, status: 489, nonRetryable: true });
      expect(only(ev, 'delivery:failed')).toMatchObject([{ retryAt: null }]);
      expect(only(ev, 'message:dead-lettered')[0]?.reason).toBe('non-retryable error: status 489');
      expect(only(ev, 'token:handed-off')).toMatchObject([{ from: 'a1', to: 'a2' }]);
      expect(d.engine.nextWakeAt()).toBeNull();
    });
  });
});

describe('FlowEngine delayed messages', () => {
  it('holds a message with notBefore in the future without taking a token', () => {
    const d = new Driver();
    const ev = d.publish('a1', { key: 'a', config: cfg({ parallelism: 1 }), notBefore: 5000 });
    expect(ev.map((e) => e.type)).toEqual(['message:accepted', 'key:configured']);
    expect(ev[0]).toMatchObject({ messageId: 'a1', notBefore: 5000 });
    expect(d.message('a1')).toMatchObject({ state: 'scheduled', dueAt: 5000, readyAt: null });
    expect(d.key('a')).toMatchObject({ inFlight: 0, scheduled: 1, waitListSize: 0 });
    expect(started(d.publish('a2', { key: 'a' }))).toEqual(['a2']);
  });

  it('enters flow control when tick reaches notBefore', () => {
    const d = new Driver();
    d.publish('a1', { key: 'a', notBefore: 5000 });
    expect(d.engine.nextWakeAt()).toBe(5000);
    expect(d.tick(4999)).toEqual([]);
    expect(only(d.tick(5000), 'token:acquired')).toMatchObject([{ messageId: 'a1', waitedMs: 0 }]);
    expect(d.key('a').scheduled).toBe(0);
  });

  it('starts at once when notBefore is not in the future', () => {
    const d = new Driver();
    const ev = d.at(100).publish('a1', { key: 'a', notBefore: 100 });
    expect(ev[0]).not.toHaveProperty('notBefore');
    expect(started(ev)).toEqual(['a1']);
  });

  it('joins the back of the waitlist when it becomes ready', () => {
    const d = new Driver();
    d.publish('a1', { key: 'a', config: cfg({ parallelism: 1 }), notBefore: 100 });
    d.publishMany('b', 3, { key: 'a' });
    d.tick(100);
    expect(d.waiting('a')).toEqual(['b2', 'b3', 'a1']);
    expect(d.finish('b1')).toContainEqual(expect.objectContaining({ to: 'b2' }));
  });

  it('is started by any command that runs at or after its time', () => {
    const d = new Driver();
    d.publish('a1', { key: 'a', notBefore: 100 });
    const ev = d.at(150).publish('b1', { key: 'b' });
    expect(started(ev)).toEqual(['b1', 'a1']);
    expect(d.message('a1')?.readyAt).toBe(150);
  });
});

describe('FlowEngine cancel', () => {
  it('ends a waiting message at once, and the handoff skips it', () => {
    const d = new Driver();
    d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 1 }) });
    expect(d.cancel('a2')).toMatchObject([
      { type: 'message:cancelled', key: 'a', messageId: 'a2' },
    ]);
    expect(d.key('a').waitListSize).toBe(1);
    expect(d.message('a2')).toBeUndefined();
    expect(only(d.finish('a1'), 'token:handed-off')).toMatchObject([{ from: 'a1', to: 'a3' }]);
    expect(d.engine.stats.cancelled).toBe(1);
  });

  it('counts positions without cancelled waiters', () => {
    const d = new Driver();
    d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 1 }) });
    d.cancel('a2');
    expect(only(d.publish('a4', { key: 'a' }), 'message:waitlisted')).toMatchObject([
      { position: 2 },
    ]);
    expect(d.waiting('a')).toEqual(['a3', 'a4']);
  });

  it('releases the token when every waiter was cancelled', () => {
    const d = new Driver();
    d.publishMany('a', 3, { key: 'a', config: cfg({ parallelism: 1 }) });
    d.cancel('a2');
    d.cancel('a3');
    expect(only(d.finish('a1'), 'token:released')).toHaveLength(1);
    expect(d.key('a')).toMatchObject({ inFlight: 0, waitListSize: 0, blockedBy: null });
  });

  it('ends a delayed message, which then never starts', () => {
    const d = new Driver();
    d.publish('a1', { key: 'a', notBefore: 1000 });
    expect(only(d.cancel('a1'), 'message:cancelled')).toHaveLength(1);
    expect(d.key('a').scheduled).toBe(0);
    expect(d.engine.nextWakeAt()).toBeNull();
    expect(d.tick(1000)).toEqual([]);
  });

  it('ends a message waiting for its retry', () => {
    const d = new Driver();
    d.publish('a1', { key: 'a' });
    d.finish('a1', { ok: false, retryDelayMs: ms(100) });
    expect(only(d.cancel('a1'), 'message:cancelled')).toHaveLength(1);
    expect(d.key('a').scheduled).toBe(0);
    expect(d.tick(100)).toEqual([]);
  });

  describe('when the message is in flight', () => {
    it('lets the attempt finish and does not retry a failure', () => {
      const d = new Driver();
      d.publish('a1', { key: 'a', retries: 3 });
      expect(d.cancel('a1')).toEqual([]);
      expect(d.message('a1')?.state).toBe('in-flight');
      const ev = d.finish('a1', FAIL);
      expect(only(ev, 'delivery:failed')).toMatchObject([{ retryAt: null }]);
      expect(only(ev, 'message:cancelled')).toMatchObject([{ messageId: 'a1' }]);
      expect(only(ev, 'message:dead-lettered')).toEqual([]);
      expect(d.engine.stats).toMatchObject({ cancelled: 1, dead: 0 });
    });

    it('still counts a success as delivered', () => {
      const d = new Driver();
      d.publish('a1', { key: 'a' });
      d.cancel('a1');
      expect(only(d.finish('a1'), 'message:delivered')).toHaveLength(1);
    });
  });

  it('emits nothing for an unknown or ended message', () => {
    const d = new Driver();
    d.publish('a1', { key: 'a' });
    d.finish('a1');
    expect(d.cancel('a1')).toEqual([]);
    expect(d.cancel('nope')).toEqual([]);
    expect(d.engine.stats.cancelled).toBe(0);
  });
});
