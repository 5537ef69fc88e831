import { describe, expect, it } from 'vitest';
import { formatPeriod, ordinal, shortId } from './format';

describe('ordinal', () => {
  it('uses st, nd, rd and th the English way', () => {
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111].map(ordinal)).toEqual([
      '1st',
      '2nd',
      '3rd',
      '4th',
      '11th',
      '12th',
      '13th',
      '21st',
      '22nd',
      '23rd',
      '101st',
      '111th',
    ]);
  });
});

describe('formatPeriod', () => {
  it('uses the largest whole unit', () => {
    expect([1000, 90_000, 60_000, 3_600_000, 86_400_000, 1500].map(formatPeriod)).toEqual([
      '1s',
      '90s',
      '1m',
      '1h',
      '1d',
      '1500ms',
    ]);
  });
});

describe('shortId', () => {
  it('keeps short ids and trims long ones', () => {
    expect(shortId('msg_1')).toBe('msg_1');
    expect(shortId('msg_abcdefghijkl')).toBe('msg_abcde…');
  });
});
