import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RetryDelayError, parseRetryDelay, retryDelayMs } from './retry-delay';

describe('parseRetryDelay', () => {
  it.each([
    ['1000', 0, 1000],
    ['1000 * (1 + retried)', 2, 3000],
    ['pow(2, retried) * 100', 3, 800],
    ['min(60000, 1000 * pow(2, retried))', 10, 60000],
    ['max(10, sqrt(16)) + abs(-5) + floor(1.5) + ceil(1.2) + round(2.5)', 0, 10 + 5 + 1 + 2 + 3],
    ['exp(0) * 7 % 5', 0, 2],
    ['-retried + 10', 4, 6],
  ])('evaluates %s with retried=%i', (expr, retried, expected) => {
    expect(retryDelayMs(parseRetryDelay(expr), retried)).toBe(expected);
  });

  it('clamps to a day and treats NaN as 0', () => {
    expect(retryDelayMs(parseRetryDelay('pow(10, 12)'), 0)).toBe(86_400_000);
    expect(retryDelayMs(parseRetryDelay('sqrt(-1)'), 0)).toBe(0);
    expect(retryDelayMs(parseRetryDelay('-5'), 0)).toBe(0);
  });

  it.each([
    '',
    'retries * 2',
    'process.exit()',
    'constructor',
    '"1000"',
    'a ? 1 : 2',
    'toString(1)',
    '1 +',
    'x => 1',
  ])('refuses %j', (expr) => {
    expect(() => parseRetryDelay(expr)).toThrow(RetryDelayError);
  });

  it('throws only RetryDelayError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        try {
          const fn = parseRetryDelay(s);
          const v = retryDelayMs(fn, 1);
          expect(v).toBeGreaterThanOrEqual(0);
        } catch (err) {
          expect(err).toBeInstanceOf(RetryDelayError);
        }
      }),
    );
  });
});
