/** Forgetting idle keys. */
import { expect, it } from 'vitest';
import { ms } from '../../../shared/engine/units';
import { OK, cfg, only, started, type StoreDriver } from './store-driver';
import type { ContractContext } from './contract-context';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const forgotten = async (d: StoreDriver, idleMs: number): Promise<string[]> =>
  only(await d.forgetIdle(idleMs), 'key:forgotten').map((e) => e.key);

export function forgetContract({ open }: ContractContext): void {
  it('forgets a key idle that long, and a later message brings it back new', async () => {
    const d = await open();
    await d.publish('a1', { key: 'a', config: cfg({ parallelism: 2 }) });
    await d.at(1000).finish('a1');
    d.at(1000 + HOUR - 1);
    expect(await forgotten(d, HOUR)).toEqual([]);
    d.at(1000 + HOUR);
    expect(await forgotten(d, HOUR)).toEqual(['a']);
    expect(await d.hasKey('a')).toBe(false);
    expect((await d.snapshot()).engine.keys.map((k) => k.key)).not.toContain('a');
    // Back with the new message's config only.
    const ev = await d.publish('a2', { key: 'a', config: cfg({ rate: 3 }) });
    expect(only(ev, 'key:configured')).toMatchObject([{ parallelism: null, rate: 3 }]);
    expect(started(ev)).toEqual(['a2']);
  });

  it('keeps a key with a message waiting, in flight, delayed or in a retry backoff', async () => {
    const d = await open();
    await d.publishMany('w', 2, { key: 'waiting', config: cfg({ parallelism: 1 }) });
    await d.publish('f1', { key: 'flying' });
    await d.publish('s1', { key: 'delayed', notBefore: 10 * HOUR });
    await d.publish('r1', { key: 'retrying', retries: 1 });
    await d.finish('r1', { ok: false, status: 500, retryDelayMs: ms(5 * HOUR) });
    d.at(2 * HOUR);
    expect(await forgotten(d, HOUR)).toEqual([]);
  });

  it('keeps a paused or pinned key', async () => {
    const d = await open();
    await d.pause('paused');
    await d.pin('pinned', { parallelism: 1 });
    d.at(2 * HOUR);
    expect(await forgotten(d, HOUR)).toEqual([]);
    await d.resume('paused');
    d.at(4 * HOUR);
    expect(await forgotten(d, HOUR)).toEqual(['paused']);
  });

  it('keeps a key while its rate window still counts starts', async () => {
    const d = await open();
    await d.publish('a1', { key: 'a', config: cfg({ rate: 1, period: 24 * HOUR }) });
    await d.at(10).finish('a1', OK);
    d.at(2 * HOUR);
    // Forgetting it now would forget the start the day's window holds.
    expect(await forgotten(d, HOUR)).toEqual([]);
    d.at(24 * HOUR);
    expect(await forgotten(d, HOUR)).toEqual(['a']);
  });

  it('counts idleness from the last command on the key or the last message to end', async () => {
    const d = await open();
    await d.publish('a1', { key: 'a' });
    await d.at(HOUR).finish('a1');
    await d.at(HOUR + 30 * MINUTE).resume('a');
    d.at(2 * HOUR);
    expect(await forgotten(d, HOUR)).toEqual([]);
    d.at(2 * HOUR + 30 * MINUTE);
    expect(await forgotten(d, HOUR)).toEqual(['a']);
  });

  it('refuses an idle time that is not a duration', async () => {
    const d = await open();
    await expect(d.forgetIdle(-1)).rejects.toThrow(RangeError);
    await expect(d.forgetIdle(Number.NaN)).rejects.toThrow(RangeError);
  });
}
