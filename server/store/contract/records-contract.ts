/**
 * The records' contract (../records.ts): one suite, run against every `Records` (memory in
 * records.test.ts, Redis in records.redis.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { jsonCodec, type Records } from '../records';

interface Doc {
  name: string;
  n: number;
  body?: Uint8Array;
}

export interface RecordsUnderTest {
  records: Records;
  /** A second handle on the same records (another server), when the store can have one. */
  other?: Records;
  cleanup(): Promise<void>;
}

export function runRecordsContract(name: string, make: () => Promise<RecordsUnderTest>): void {
  describe(`records contract: ${name}`, () => {
    let cleanup: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });
    async function open(): Promise<RecordsUnderTest> {
      const r = await make();
      cleanup = r.cleanup;
      return r;
    }
    const codec = jsonCodec<Doc>();

    it('answers nothing for an id never put, and lists nothing', async () => {
      const { records } = await open();
      const c = records.collection('docs', codec);
      expect(await c.get('a')).toBeUndefined();
      expect(await c.list()).toEqual([]);
      expect(await c.delete('a')).toBe(false);
    });

    it('gives back what was put, as a copy', async () => {
      const { records } = await open();
      const c = records.collection('docs', codec);
      const doc: Doc = { name: 'a', n: 1 };
      await c.put('a', doc);
      doc.n = 2;
      const read = await c.get('a');
      expect(read).toEqual({ name: 'a', n: 1 });
      read!.n = 3;
      expect(await c.get('a')).toEqual({ name: 'a', n: 1 });
    });

    it('reads many at once, in the order asked, nothing for an id never put', async () => {
      const { records } = await open();
      const c = records.collection('docs', codec);
      expect(await c.getMany([])).toEqual([]);
      await c.put('a', { name: 'a', n: 1 });
      await c.put('b', { name: 'b', n: 2 });
      expect(await c.getMany(['b', 'x', 'a'])).toEqual([
        { name: 'b', n: 2 },
        undefined,
        { name: 'a', n: 1 },
      ]);
    });

    it('keeps byte arrays as bytes', async () => {
      const { records } = await open();
      const c = records.collection('docs', codec);
      await c.put('a', { name: 'a', n: 1, body: new Uint8Array([0, 255, 128, 10]) });
      const read = await c.get('a');
      expect(read!.body).toBeInstanceOf(Uint8Array);
      expect([...read!.body!]).toEqual([0, 255, 128, 10]);
      // A Buffer (what a request body arrives as) and a view into a larger buffer, as bytes.
      await c.put('b', { name: 'b', n: 2, body: Buffer.from([1, 2, 3]) });
      await c.put('c', { name: 'c', n: 3, body: new Uint8Array([9, 8, 7, 6]).subarray(1, 3) });
      expect([...(await c.get('b'))!.body!]).toEqual([1, 2, 3]);
      expect([...(await c.get('c'))!.body!]).toEqual([8, 7]);
    });

    it('lists in the order ids were first put; a replaced document keeps its place', async () => {
      const { records } = await open();
      const c = records.collection('docs', codec);
      for (const id of ['c', 'a', 'b']) await c.put(id, { name: id, n: 0 });
      await c.put('a', { name: 'a', n: 9 });
      expect((await c.list()).map((d) => `${d.name}${d.n}`)).toEqual(['c0', 'a9', 'b0']);
      expect(await c.delete('c')).toBe(true);
      await c.put('c', { name: 'c', n: 1 });
      expect((await c.list()).map((d) => d.name)).toEqual(['a', 'b', 'c']);
    });

    it('keeps collections apart', async () => {
      const { records } = await open();
      const one = records.collection('one', codec);
      const two = records.collection('two', codec);
      await one.put('a', { name: 'one', n: 1 });
      expect(await two.get('a')).toBeUndefined();
      expect(await two.list()).toEqual([]);
    });

    it('replaces only what is still as expected', async () => {
      const { records } = await open();
      const c = records.collection('docs', codec);
      // Absent expected: creates only when absent.
      expect(await c.replace('a', undefined, { name: 'a', n: 1 })).toBe(true);
      expect(await c.replace('a', undefined, { name: 'a', n: 2 })).toBe(false);
      expect(await c.get('a')).toEqual({ name: 'a', n: 1 });
      // A stale expectation changes nothing.
      expect(await c.replace('a', { name: 'a', n: 5 }, { name: 'a', n: 6 })).toBe(false);
      expect(await c.replace('a', { name: 'a', n: 1 }, { name: 'a', n: 2 })).toBe(true);
      expect(await c.get('a')).toEqual({ name: 'a', n: 2 });
      // An undefined value deletes.
      expect(await c.replace('a', { name: 'a', n: 2 }, undefined)).toBe(true);
      expect(await c.get('a')).toBeUndefined();
      expect(await c.list()).toEqual([]);
    });

    it('lets one of many racing replaces win', async () => {
      const { records, other } = await open();
      const c = records.collection('docs', codec);
      const d = (other ?? records).collection('docs', codec);
      await c.put('tick', { name: 'tick', n: 0 });
      const wins = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? c : d).replace('tick', { name: 'tick', n: 0 }, { name: 'tick', n: i + 1 }),
        ),
      );
      expect(wins.filter(Boolean)).toHaveLength(1);
      const winner = wins.indexOf(true) + 1;
      expect(await d.get('tick')).toEqual({ name: 'tick', n: winner });
    });

    it('lists many documents', async () => {
      const { records } = await open();
      const c = records.collection('docs', codec);
      await Promise.all(
        Array.from({ length: 2500 }, (_, i) => c.put(`d${i}`, { name: `d${i}`, n: i })),
      );
      const all = await c.list();
      expect(all).toHaveLength(2500);
      expect(new Set(all.map((d) => d.n)).size).toBe(2500);
    });

    it('refuses a collection name it could not keep apart', async () => {
      const { records } = await open();
      expect(() => records.collection('a:b', codec)).toThrow(RangeError);
      expect(() => records.collection('', codec)).toThrow(RangeError);
    });
  });
}
