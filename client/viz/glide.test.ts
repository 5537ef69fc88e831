import { describe, expect, it } from 'vitest';
import { BUSY_STARTS, GLIDE_MS, tooBusyToGlide } from './glide';

describe('tooBusyToGlide', () => {
  it('glides while starts come less often than a glide lasts', () => {
    const calm = Array.from({ length: 10 }, (_, i) => i * (GLIDE_MS + 50));
    expect(tooBusyToGlide(calm, calm.at(-1)!)).toBe(false);
    expect(tooBusyToGlide([], 1000)).toBe(false);
  });

  it('steps once a second holds more starts than glides fit in it', () => {
    const busy = Array.from({ length: BUSY_STARTS }, (_, i) => 5000 + i * 100);
    expect(tooBusyToGlide(busy, busy.at(-1)!)).toBe(true);
  });

  it('counts only the second up to now, so a burst long ago does not stop the glide', () => {
    const burst = Array.from({ length: 20 }, (_, i) => 1000 + i);
    expect(tooBusyToGlide(burst, 1100)).toBe(true);
    expect(tooBusyToGlide(burst, 3000)).toBe(false);
  });
});
