/** Refused input changes nothing (the "invalid input" part of shared/engine/engine.test.ts). */
import { expect, it } from 'vitest';
import { keyId, messageId, ms } from '../../../shared/engine/units';
import type { ContractContext } from './contract-context';
import { OK, cfg, type StoreDriver } from './store-driver';

export function invalidInputContract({ open }: ContractContext): void {
  const pub = (d: StoreDriver, config: Parameters<typeof cfg>[0]) =>
    d.publish(`x${d.log.length}`, { key: 'k', config: cfg(config) });

  it('refuses parallelism 0, negative or not whole', async () => {
    const d = await open();
    for (const parallelism of [0, -1, 1.5, Number.NaN]) {
      await expect(pub(d, { parallelism })).rejects.toThrow(RangeError);
    }
  });

  it('refuses a rate 0, negative or not whole', async () => {
    const d = await open();
    for (const rate of [0, -3, 2.5]) {
      await expect(pub(d, { rate })).rejects.toThrow(RangeError);
    }
  });

  it('refuses a period over one week, zero or not whole', async () => {
    const d = await open();
    const week = 7 * 24 * 3600 * 1000;
    for (const period of [week + 1, 0, 0.5]) {
      await expect(pub(d, { rate: 1, period })).rejects.toThrow(RangeError);
    }
    await expect(pub(d, { rate: 1, period: week })).resolves.toBeDefined();
  });

  it('refuses a bad pin, and a pin of nothing', async () => {
    const d = await open();
    await expect(d.pin('a', { parallelism: 0 })).rejects.toThrow(RangeError);
    await expect(d.pin('a', { period: 8 * 24 * 3600 * 1000 })).rejects.toThrow(RangeError);
    await expect(d.pin('a', {})).rejects.toThrow(RangeError);
    expect(await d.lastSeq()).toBe(0);
  });

  it('refuses a bad global parallelism', async () => {
    const d = await open();
    await expect(d.setGlobal(0)).rejects.toThrow(RangeError);
    await expect(d.setGlobal(-2)).rejects.toThrow(RangeError);
    await expect(d.setGlobal(1.5)).rejects.toThrow(RangeError);
    expect((await d.global()).parallelism).toBeNull();
  });

  it('refuses negative or fractional retries', async () => {
    const d = await open();
    await expect(d.publish('x', { retries: -1 })).rejects.toThrow(RangeError);
    await expect(d.publish('y', { retries: 0.5 })).rejects.toThrow(RangeError);
  });

  it('refuses a message it never accepted, changing nothing', async () => {
    const d = await open();
    const other = await open();
    await d.publish('a1', { key: 'a', config: cfg({ parallelism: 1 }) });
    await other.publish('b1', { key: 'a', config: cfg({ parallelism: 1 }) });
    const foreign = other.handle('b1');
    const forged = { id: messageId('zz'), data: undefined };
    const seq = await d.lastSeq();
    for (const h of [foreign, forged]) {
      await expect(Promise.resolve().then(() => d.store.finish(h, OK))).rejects.toThrow();
      // Cancelling or reading one may be refused too, or answer nothing.
      const cancelled = await Promise.resolve()
        .then(() => d.store.cancel(h))
        .catch(() => []);
      expect(cancelled).toEqual([]);
      const view = await Promise.resolve()
        .then(() => d.store.message(h))
        .catch(() => undefined);
      expect(view).toBeUndefined();
    }
    expect(await d.lastSeq()).toBe(seq);
    expect((await d.key('a')).inFlight).toBe(1);
    expect(await other.state('b1')).toBe('in-flight');
  });

  it('refuses to finish a message that is not in flight', async () => {
    const d = await open();
    await d.publishMany('a', 2, { key: 'a', config: cfg({ parallelism: 1 }) });
    await expect(d.finish('a2')).rejects.toThrow(/not in flight/);
    await d.finish('a1');
    await expect(d.finish('a1', OK)).rejects.toThrow(/not in flight/);
  });

  it('refuses a retryDelayMs that is not a duration, leaving the message in flight', async () => {
    const d = await open();
    await d.publish('a1', { key: 'a' });
    const seq = await d.lastSeq();
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -1]) {
      await expect(d.finish('a1', { ok: false, retryDelayMs: ms(bad) })).rejects.toThrow(
        RangeError,
      );
    }
    expect(await d.lastSeq()).toBe(seq);
    expect(await d.state('a1')).toBe('in-flight');
    expect((await d.key('a')).inFlight).toBe(1);
  });

  it('changes nothing when a message is refused', async () => {
    const d = await open();
    await d.publish('a1', { key: 'a', config: cfg({ parallelism: 2 }) });
    const seq = await d.lastSeq();
    await expect(d.publish('a2', { key: 'a', config: cfg({ parallelism: 0 }) })).rejects.toThrow();
    expect(await d.lastSeq()).toBe(seq);
    expect((await d.key('a')).parallelism).toBe(2);
    expect(await d.store.key(keyId('a'))).toMatchObject({ inFlight: 1, waitListSize: 0 });
    expect((await d.stats()).accepted).toBe(1);
  });
}
