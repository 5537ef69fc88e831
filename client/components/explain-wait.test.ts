import { describe, expect, it } from 'vitest';
import { engineHarness } from '../store/engine-harness';
import { fromSnapshot, type KeyView } from '../store/flow-state';
import { keyId, ms } from '../../shared/engine/units';
import { explainWait, explainWaiter } from './explain-wait';

const ctx = { now: 1_000_000, globalParallelism: null, globalInFlight: 0 };

describe('explainWait', () => {
  it('says parallelism is full, with how many are in flight', () => {
    const h = engineHarness();
    for (let i = 0; i < 4; i++) h.publish('k', 3);
    const k = fromSnapshot(h.snapshot()).keys.k!;
    expect(explainWait(k, ctx)).toMatchObject({
      reason: 'parallelism',
      summary: 'parallelism is full: 3 of 3 in flight',
    });
  });

  it('puts a pause before everything else', () => {
    const h = engineHarness();
    h.publish('k', 1);
    h.pause('k');
    h.publish('k', 1);
    const k = fromSnapshot(h.snapshot()).keys.k!;
    expect(explainWait(k, ctx).reason).toBe('paused');
  });

  it('says when the rate window ends, and stops blaming the rate once it has', () => {
    const key: KeyView = {
      key: keyId('r'),
      parallelism: null,
      rate: 2,
      periodMs: ms(10_000),
      rateCount: 2,
      ratePeriodStart: ms(1_000_000),
      pinnedParallelism: false,
      pinnedRate: false,
      paused: false,
      inFlight: 0,
      waitListSize: 3,
      scheduled: 0,
      active: [],
      waiting: [],
      freedAt: {},
    };
    const why = explainWait(key, { ...ctx, now: 1_004_000 });
    expect(why.reason).toBe('rate');
    expect(why.summary).toBe('the rate is used up: 2 of 2 starts in this 10s window');
    expect(why.next).toBe('The window ends in 6.0 s; then up to 2 more start.');
    expect(explainWait(key, { ...ctx, now: 1_010_000 }).reason).toBeNull();
  });

  describe('when both the parallelism and the rate hold it', () => {
    const both: KeyView = {
      key: keyId('b'),
      parallelism: 2,
      rate: 3,
      periodMs: ms(10_000),
      rateCount: 3,
      ratePeriodStart: ms(1_000_000),
      pinnedParallelism: false,
      pinnedRate: false,
      paused: false,
      inFlight: 2,
      waitListSize: 5,
      scheduled: 0,
      active: [],
      waiting: [],
      freedAt: {},
    };

    it('names the rate window, which holds it until it ends, and the parallelism too', () => {
      const why = explainWait(both, { ...ctx, now: 1_004_000 });
      expect(why.reason).toBe('rate');
      expect(why.summary).toBe(
        'the rate is used up: 3 of 3 starts in this 10s window, and parallelism is full: 2 of 2 in flight',
      );
      expect(why.next).toBe(
        'The window ends in 6.0 s; then up to 3 more start. It also needs a token: one of the 2 ' +
          'active requests must finish and hand it on.',
      );
    });

    it('names the parallelism alone once the window has ended', () => {
      expect(explainWait(both, { ...ctx, now: 1_010_000 }).reason).toBe('parallelism');
    });
  });

  it('blames the global limit when the key itself has room', () => {
    const h = engineHarness();
    h.publish('k', 5);
    h.publish('k', 5);
    const k = fromSnapshot(h.snapshot()).keys.k!;
    expect(explainWait(k, { ...ctx, globalParallelism: 2, globalInFlight: 2 }).reason).toBe(
      'global',
    );
  });
});

describe('explainWaiter', () => {
  it('tells the place in line and the age', () => {
    const h = engineHarness();
    for (let i = 0; i < 4; i++) h.publish('k', 2);
    const k = fromSnapshot(h.snapshot()).keys.k!;
    const w = k.waiting[1]!;
    const r = explainWaiter(k, w, 2, { ...ctx, now: w.readyAt + 4200 });
    expect(r.reason).toBe('parallelism');
    expect(r.text).toBe(
      'Waiting 2nd for 4.2 s: parallelism is full: 2 of 2 in flight. 1 request is ahead of it. ' +
        'It gets a token when one of the 2 active requests finishes and hands its token on.',
    );
  });

  it('tells it as the Workflow step it is', () => {
    const h = engineHarness();
    for (let i = 0; i < 3; i++) h.publish('k', 2);
    const k = fromSnapshot(h.snapshot()).keys.k!;
    const w = k.waiting[0]!;
    const step = { runId: 'wfr_abc123', step: 'send-email' };
    const r = explainWaiter(k, w, 1, { ...ctx, now: w.readyAt + 3000 }, step);
    expect(r.text).toBe(
      'Step send-email of run wfr_abc123 waits 1st for 3.0 s because parallelism is full: ' +
        '2 of 2 in flight. It is first in line. ' +
        'It gets a token when one of the 2 active requests finishes and hands its token on.',
    );
  });
});
