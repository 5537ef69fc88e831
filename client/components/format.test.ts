import { describe, expect, it } from 'vitest';
import { formatDuration, formatPeriod, ordinal, periodLabel, shortId } from './format';

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

describe('formatDuration', () => {
  it('uses tenths of a second when short and whole units when long', () => {
    expect([850, 4200, 12_400, 75_000, 120_000, 7_200_000, 7_500_000].map(formatDuration)).toEqual([
      '0.9 s',
      '4.2 s',
      '12 s',
      '1 min 15 s',
      '2 min',
      '2 h',
      '2 h 5 min',
    ]);
  });
});

describe('periodLabel', () => {
  it('labels a window the way the docs do', () => {
    expect([60_000, 10_000, 3_600_000, 1500].map(periodLabel)).toEqual([
      '1 min period',
      '10 s period',
      '1 h period',
      '1500 ms period',
    ]);
  });
});
