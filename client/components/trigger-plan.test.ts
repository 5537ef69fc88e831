import { describe, expect, it } from 'vitest';
import {
  destinationOf,
  flowControlValue,
  problemWith,
  publishOffsets,
  type TriggerSpec,
} from './trigger-plan';

const spec: TriggerSpec = {
  key: 'demo',
  parallelism: 3,
  rate: null,
  period: 10,
  periodUnit: 's',
  count: 5,
  pattern: 'burst',
  spreadSeconds: 4,
  perSecond: 2,
  destination: { kind: 'sim', durationMs: 800, jitterMs: 0, failPercent: 0 },
};

describe('flowControlValue', () => {
  it('writes the header the QStash clients write', () => {
    expect(flowControlValue(spec)).toBe('parallelism=3');
    expect(flowControlValue({ ...spec, rate: 2 })).toBe('parallelism=3, rate=2, period=10s');
    expect(flowControlValue({ ...spec, parallelism: null })).toBeUndefined();
  });
});

describe('destinationOf', () => {
  it('builds a sim:// destination with duration, jitter and failure rate', () => {
    expect(destinationOf(spec)).toBe('sim://work?duration=800ms');
    expect(
      destinationOf({
        ...spec,
        destination: { kind: 'sim', durationMs: 800, jitterMs: 200, failPercent: 10 },
      }),
    ).toBe('sim://work?duration=800ms&jitter=200ms&fail=0.1');
    expect(
      destinationOf({ ...spec, destination: { kind: 'url', url: ' https://x.test/a ' } }),
    ).toBe('https://x.test/a');
  });
});

describe('publishOffsets', () => {
  it('sends a burst at once, a spread evenly over its span, a steady stream at its rate', () => {
    expect(publishOffsets(spec)).toEqual([0, 0, 0, 0, 0]);
    expect(publishOffsets({ ...spec, pattern: 'spread' })).toEqual([0, 1000, 2000, 3000, 4000]);
    expect(publishOffsets({ ...spec, pattern: 'steady' })).toEqual([0, 500, 1000, 1500, 2000]);
    expect(publishOffsets({ ...spec, pattern: 'spread', count: 1 })).toEqual([0]);
  });
});

describe('problemWith', () => {
  it('names what is missing or out of range', () => {
    expect(problemWith(spec)).toBeNull();
    expect(problemWith({ ...spec, key: ' ' })).toBe('a key is needed');
    expect(problemWith({ ...spec, count: 0 })).toMatch(/count/);
    expect(problemWith({ ...spec, destination: { kind: 'url', url: 'ftp://x' } })).toMatch(/URL/);
  });
});
