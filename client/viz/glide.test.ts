import { describe, expect, it } from 'vitest';
import { BUSY_STARTS, GLIDE_MS, glideMode, tooBusyToGlide } from './glide';
import { keyLayout } from './key-layout';

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

describe('glideMode', () => {
  /** The waitlist of a key with these waiters, as the diagram draws it. */
  const waitlist = (ids: string[]) =>
    keyLayout({
      parallelism: 3,
      active: [],
      waiting: ids.map((messageId) => ({ messageId })),
      waitListSize: ids.length,
    }).waiters;
  const drawn = (ids: string[]) => new Map(waitlist(ids).map((w) => [w.messageId, w]));
  const calm = { busy: false, gliding: false };
  const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `m${from + i}`);

  it('glides a waitlist moving up along its one row', () => {
    expect(glideMode(drawn(ids(3)), waitlist(ids(2, 1)), calm)).toBe('glide');
  });

  it('steps when a waiter would cross to another row, cutting across its neighbours', () => {
    expect(glideMode(drawn(ids(8)), waitlist(ids(7, 1)), calm)).toBe('step');
  });

  it('steps when a waiter appears while others move, or while a glide is still running', () => {
    expect(glideMode(drawn(ids(3)), waitlist([...ids(2, 1), 'new']), calm)).toBe('step');
    expect(glideMode(drawn(ids(3)), waitlist(ids(2, 1)), { busy: false, gliding: true })).toBe(
      'step',
    );
    expect(glideMode(drawn(ids(3)), waitlist(ids(4)), { busy: false, gliding: true })).toBe('step');
  });

  it('steps on a busy key, and leaves the list alone when nothing drawn moved', () => {
    expect(glideMode(drawn(ids(3)), waitlist(ids(2, 1)), { busy: true, gliding: false })).toBe(
      'step',
    );
    expect(glideMode(drawn(ids(3)), waitlist(ids(4)), calm)).toBe('keep');
    expect(glideMode(null, waitlist(ids(3)), calm)).toBe('keep');
  });
});
