import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FlowControlError, parseFlowControlHeaders, parseFlowControlValue } from './flow-control';
import { formatPeriod, parseDuration } from './duration';
import { ms } from '../engine/units';

describe('parseFlowControlValue', () => {
  it.each([
    ['parallelism=10', { parallelism: 10 }],
    ['rate=10, period=1s', { rate: 10, periodMs: 1000 }],
    ['parallelism=5, rate=10, period=1m', { parallelism: 5, rate: 10, periodMs: 60_000 }],
    ['rate=2, period=3600s', { rate: 2, periodMs: 3_600_000 }],
    ['rate=3, period=1d', { rate: 3, periodMs: 86_400_000 }],
    ['rate=4', { rate: 4 }],
    ['parallelism=5,rate=10,period=1m', { parallelism: 5, rate: 10, periodMs: 60_000 }],
    ['rate=10,parallelism=20,period=1m', { parallelism: 20, rate: 10, periodMs: 60_000 }],
    ['  period = 2h ,rate=1  ', { rate: 1, periodMs: 7_200_000 }],
    ['rate=1, period=30', { rate: 1, periodMs: 30_000 }],
  ])('reads %j', (value, expected) => {
    expect(parseFlowControlValue(value)).toEqual(expected);
  });

  it.each([
    ['', /empty/],
    ['period=1s', /either rate=X or parallelism=Y/],
    ['parallelism=0', /whole number ≥ 1/],
    ['parallelism=-1', /whole number/],
    ['parallelism=1.5', /whole number/],
    ['rate=abc', /whole number/],
    ['rate=1, period=8d', /over 1 week/],
    ['rate=1, period=1w', /period must be/],
    ['rate=1, period=500ms', /period must be/],
    ['burst=3', /unknown name/],
    ['parallelism', /not name=value/],
    ['parallelism=1, parallelism=2', /twice/],
  ])('refuses %j', (value, message) => {
    expect(() => parseFlowControlValue(value)).toThrow(message);
  });

  it('reads back every value the official clients can send', () => {
    const unit = fc.constantFrom('s', 'm', 'h', 'd');
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: undefined }),
        fc.option(fc.tuple(fc.integer({ min: 1, max: 7 }), unit), { nil: undefined }),
        (parallelism, rate, period) => {
          fc.pre(parallelism !== undefined || rate !== undefined);
          const parts = [];
          if (parallelism !== undefined) parts.push(`parallelism=${parallelism}`);
          if (rate !== undefined) parts.push(`rate=${rate}`);
          if (period !== undefined) parts.push(`period=${period[0]}${period[1]}`);
          const cfg = parseFlowControlValue(parts.join(', '));
          expect(cfg.parallelism).toBe(parallelism);
          expect(cfg.rate).toBe(rate);
          if (period !== undefined)
            expect(cfg.periodMs).toBe(parseDuration(`${period[0]}${period[1]}`));
        },
      ),
    );
  });

  it('throws only FlowControlError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          parseFlowControlValue(s);
        } catch (err) {
          expect(err).toBeInstanceOf(FlowControlError);
        }
      }),
    );
  });
});

describe('parseFlowControlHeaders', () => {
  it('needs the key and the value together', () => {
    expect(parseFlowControlHeaders(undefined, undefined)).toBeUndefined();
    expect(() => parseFlowControlHeaders('k', undefined)).toThrow(
      /without Upstash-Flow-Control-Value/,
    );
    expect(() => parseFlowControlHeaders(undefined, 'rate=1')).toThrow(
      /without Upstash-Flow-Control-Key/,
    );
    expect(() => parseFlowControlHeaders('  ', 'rate=1')).toThrow(/empty/);
    expect(parseFlowControlHeaders('user-signup', 'parallelism=10')).toEqual({
      key: 'user-signup',
      config: { parallelism: 10 },
    });
  });
});

describe('durations', () => {
  it('combines units and reads bare numbers as seconds', () => {
    expect(parseDuration('1d10h30m')).toBe(86_400_000 + 36_000_000 + 1_800_000);
    expect(parseDuration('10')).toBe(10_000);
    expect(parseDuration('1h', false)).toBe(3_600_000);
    expect(parseDuration('1h30m', false)).toBeNull();
    expect(parseDuration('ten')).toBeNull();
  });

  it('formats periods with the largest even unit', () => {
    expect(formatPeriod(ms(60_000))).toBe('1m');
    expect(formatPeriod(ms(90_000))).toBe('90s');
    expect(formatPeriod(ms(86_400_000))).toBe('1d');
  });
});
