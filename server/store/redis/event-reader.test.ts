import { describe, expect, it } from 'vitest';
import { streamIdAtOrBefore } from './event-reader';

describe('streamIdAtOrBefore', () => {
  it('orders stream ids by time, then sequence, as numbers', () => {
    expect(streamIdAtOrBefore('5-0', '5-0')).toBe(true);
    expect(streamIdAtOrBefore('5-1', '5-10')).toBe(true);
    expect(streamIdAtOrBefore('5-10', '5-9')).toBe(false);
    expect(streamIdAtOrBefore('99-0', '100-0')).toBe(true);
    expect(streamIdAtOrBefore('1700000000001-0', '1700000000000-5')).toBe(false);
    expect(streamIdAtOrBefore('0-0', '1-0')).toBe(true);
  });
});
