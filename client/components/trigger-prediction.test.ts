import { describe, expect, it } from 'vitest';
import { keyId, messageId, ms } from '../../shared/engine/units';
import type { KeyView } from '../store/flow-types';
import { predict } from '../viz/predict';
import type { TriggerSpec } from './trigger-plan';
import {
  comparisonText,
  keyNow,
  predictionInputOf,
  predictionSentences,
  type PredictionContext,
} from './trigger-prediction';

const spec: TriggerSpec = {
  key: 'demo',
  parallelism: 3,
  rate: null,
  period: 10,
  periodUnit: 's',
  count: 12,
  pattern: 'burst',
  spreadSeconds: 4,
  perSecond: 2,
  destination: { kind: 'sim', durationMs: 1000, jitterMs: 200, failPercent: 0 },
};

const ctx: PredictionContext = { key: undefined, now: 100_000, policy: 'fifo', expectedMs: 500 };

const busyKey: KeyView = {
  key: keyId('demo'),
  parallelism: 2,
  rate: 5,
  periodMs: ms(10_000),
  pinnedParallelism: false,
  pinnedRate: false,
  paused: false,
  inFlight: 1,
  rateCount: 3,
  ratePeriodStart: ms(75_000),
  waitListSize: 4,
  scheduled: 0,
  active: [
    { messageId: messageId('m1'), attempt: 0, startedAt: ms(99_000), token: 1, via: 'acquired' },
  ],
  waiting: [],
  freedAt: {},
};

function inputOf(s: TriggerSpec, c = ctx) {
  const r = predictionInputOf(s, c);
  if (!('input' in r)) throw new Error(r.problem);
  return r.input;
}

describe('predictionInputOf', () => {
  it('reads the header and the sim destination the form publishes', () => {
    const input = inputOf(spec);
    expect(input.config).toEqual({ parallelism: 3 });
    expect(input.durationMs).toBe(1000);
    expect(input.offsets).toHaveLength(12);
    expect(input.retries).toBe(3);
    expect(input.key).toBeUndefined();
  });

  it('takes the failure rate and the rate’s period in ms', () => {
    const input = inputOf({
      ...spec,
      rate: 2,
      period: 1,
      periodUnit: 'm',
      destination: { kind: 'sim', durationMs: 800, jitterMs: 0, failPercent: 10 },
    });
    expect(input.config).toEqual({ parallelism: 3, rate: 2, periodMs: 60_000 });
    expect(input.failRate).toBeCloseTo(0.1);
  });

  it('assumes the expected time for a real URL', () => {
    const input = inputOf({ ...spec, destination: { kind: 'url', url: 'https://example.com/x' } });
    expect(input.durationMs).toBe(500);
    expect(input.failRate).toBe(0);
  });

  it('says why there is no prediction', () => {
    expect(predictionInputOf({ ...spec, count: 0 }, ctx)).toEqual({
      problem: 'count must be a whole number from 1 to 10000',
    });
  });
});

describe('keyNow', () => {
  it('gives the key’s window and deliveries relative to now', () => {
    expect(keyNow(busyKey, 100_000)).toMatchObject({
      // The window of 75 s has ended; the one holding now began at 95 s, with nothing counted.
      windowStart: -5000,
      rateCount: 0,
      activeStarts: [-1000],
      waiting: 4,
    });
  });
});

describe('predictionSentences', () => {
  it('states the total and the longest wait', () => {
    const p = predict(inputOf(spec));
    expect(predictionSentences(p, 12, undefined)).toEqual([
      '12 requests: 4.0 s in all.',
      'Longest wait 3.0 s (request 10).',
    ]);
  });

  it('names the traffic that goes first, and the failures', () => {
    const withKey = { ...ctx, key: busyKey };
    const p = predict(
      inputOf(
        {
          ...spec,
          count: 4,
          destination: { kind: 'sim', durationMs: 1000, jitterMs: 0, failPercent: 25 },
        },
        withKey,
      ),
    );
    const text = predictionSentences(p, 4, busyKey);
    expect(text).toContain('Already on the key, going first: 1 in flight and 4 waiting.');
    expect(text.some((t) => /^\d+ attempts? fails?; a retry waits 12 s first\.$/.test(t))).toBe(
      true,
    );
  });

  it('says when most end long before the last, held back by a retry', () => {
    const p = predict(
      inputOf({
        ...spec,
        count: 20,
        destination: { kind: 'sim', durationMs: 1000, jitterMs: 0, failPercent: 5 },
      }),
    );
    expect(predictionSentences(p, 20, undefined)).toContain('9 in 10 end within 7.0 s.');
  });

  it('says when a paused key keeps everything waiting', () => {
    const paused = { ...busyKey, paused: true };
    const p = predict(inputOf(spec, { ...ctx, key: paused }));
    expect(predictionSentences(p, 12, paused)[0]).toBe(
      'The key is paused: nothing starts until it is resumed.',
    );
  });
});

describe('comparisonText', () => {
  it('gives the real total against the predicted, in per cent', () => {
    expect(comparisonText(4000, 4120)).toBe('Predicted 4.0 s · real 4.1 s (+3%)');
    expect(comparisonText(4000, 3800)).toBe('Predicted 4.0 s · real 3.8 s (−5%)');
    expect(comparisonText(4000, 4000)).toBe('Predicted 4.0 s · real 4.0 s (±0%)');
  });
});
