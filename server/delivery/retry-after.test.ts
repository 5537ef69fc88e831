import { describe, expect, it } from 'vitest';
import { parseRetryAfter, retryAfterMs } from './retry-after';

describe('retryAfterMs', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');

  it.each([
    ['120', 120_000],
    ['1.5', 1500],
    ['6m5s', 365_000],
    ['250ms', 250],
    ['Wed, 25 Nov 2026 12:00:30 GMT', 30_000],
    [String(now / 1000 + 10), 10_000],
  ])('reads %j', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it('takes the first usable header and caps it at a day', () => {
    expect(retryAfterMs({ 'retry-after': 'soon', 'x-ratelimit-reset': '5' }, now)).toBe(5000);
    expect(retryAfterMs({ 'retry-after': '999999' }, now)).toBe(86_400_000);
    expect(retryAfterMs({}, now)).toBeNull();
  });
});
