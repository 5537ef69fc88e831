import { describe, expect, it } from 'vitest';
import { keyId, ms } from './units';
import { Driver, OK, cfg, only, started } from './testing/driver';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const forgotten = (d: Driver, idleMs: number) =>
  only(d.forgetIdle(idleMs), 'key:forgotten').map((e) => e.key);

describe('FlowEngine forgetting idle keys', () => {
  it('forgets a key idle that long, and a later message brings it back new', () => {
    const d = new Driver();
    d.publish('a1', { key: 'a', config: cfg({ parallelism: 2 }) });
    d.at(1000).finish('a1');
    d.at(1000 + HOUR - 1);
    expect(forgotten(d, HOUR)).toEqual([]);
    d.at(1000 + HOUR);
    expect(forgotten(d, HOUR)).toEqual(['a']);
    expect(d.engine.hasKey(keyId('a'))).toBe(false);
    expect(d.engine.getKey(keyId('a'), d.now)).toBeUndefined();
    // Back with the new message's config only.
    const ev = d.publish('a2', { key: 'a', config: cfg({ rate: 3 }) });
    expect(only(ev, 'key:configured')).toMatchObject([{ parallelism: null, rate: 3 }]);
    expect(started(ev)).toEqual(['a2']);
  });

  it('keeps a key with a message waiting, in flight, delayed or in a retry backoff', () => {
    const d = new Driver();
    d.publishMany('w', 2, { key: 'waiting', config: cfg({ parallelism: 1 }) });
    d.publish('f1', { key: 'flying' });
    d.publish('s1', { key: 'delayed', notBefore: 10 * HOUR });
    d.publish('r1', { key: 'retrying', retries: 1 });
    d.finish('r1', { ok: false, status: 500, retryDelayMs: ms(5 * HOUR) });
    d.at(2 * HOUR);
    expect(forgotten(d, HOUR)).toEqual([]);
  });

  it('keeps a paused or pinned key', () => {
    const d = new Driver();
    d.pause('paused');
    d.pin('pinned', { parallelism: 1 });
    d.at(2 * HOUR);
    expect(forgotten(d, HOUR)).toEqual([]);
    d.resume('paused');
    d.at(4 * HOUR);
    expect(forgotten(d, HOUR)).toEqual(['paused']);
  });

  it('keeps a key while its rate window still counts starts', () => {
    const d = new Driver();
    d.publish('a1', { key: 'a', config: cfg({ rate: 1, period: 24 * HOUR }) });
    d.at(10).finish('a1', OK);
    d.at(2 * HOUR);
    // Forgetting it now would forget the start the day's window holds.
    expect(forgotten(d, HOUR)).toEqual([]);
    d.at(24 * HOUR);
    expect(forgotten(d, HOUR)).toEqual(['a']);
  });

  it('counts idleness from the last command on the key or the last message to end', () => {
    const d = new Driver();
    d.publish('a1', { key: 'a' });
    d.at(HOUR).finish('a1');
    d.at(HOUR + 30 * MINUTE).resume('a');
    d.at(2 * HOUR);
    expect(forgotten(d, HOUR)).toEqual([]);
    d.at(2 * HOUR + 30 * MINUTE);
    expect(forgotten(d, HOUR)).toEqual(['a']);
  });

  it('refuses an idle time that is not a duration', () => {
    const d = new Driver();
    expect(() => d.forgetIdle(-1)).toThrow(RangeError);
    expect(() => d.forgetIdle(Number.NaN)).toThrow(RangeError);
  });
});
