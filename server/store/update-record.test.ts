import { describe, expect, it } from 'vitest';
import { interleaved } from '../test/interleaved-records';
import { jsonCodec, MemoryRecords, type Collection } from './records';
import { chain, updateRecord } from './update-record';

interface Counter {
  n: number;
}

const codec = jsonCodec<Counter>();
const bump = (current: Counter | undefined) => {
  const next = { n: (current?.n ?? 0) + 1 };
  return { next, result: next.n };
};

describe('chain', () => {
  it('answers at once when nothing is a promise, and one flat promise otherwise', async () => {
    expect(chain(1, (v) => v + 1)).toBe(2);
    const p = chain(Promise.resolve(1), (v) => Promise.resolve(v + 1));
    expect(p).toBeInstanceOf(Promise);
    expect(await p).toBe(2);
  });
});

describe('updateRecord', () => {
  it('creates, changes and deletes a document, at once on memory records', () => {
    const c = new MemoryRecords().collection('counters', codec);
    expect(updateRecord(c, 'x', bump)).toBe(1);
    expect(updateRecord(c, 'x', bump)).toBe(2);
    expect(c.get('x')).toEqual({ n: 2 });
    expect(updateRecord(c, 'x', (current) => ({ next: undefined, result: current }))).toEqual({
      n: 2,
    });
    expect(c.get('x')).toBeUndefined();
  });

  it('writes nothing when the change answers the current document itself', () => {
    const c = new MemoryRecords().collection('counters', codec);
    c.put('x', { n: 5 });
    const spy: Collection<Counter> = {
      get: (id) => c.get(id),
      getMany: (ids) => c.getMany(ids),
      list: () => c.list(),
      delete: (id) => c.delete(id),
      put: () => {
        throw new Error('no put expected');
      },
      replace: () => {
        throw new Error('no replace expected');
      },
    };
    expect(updateRecord(spy, 'x', (current) => ({ next: current, result: 'kept' }))).toBe('kept');
    expect(updateRecord(spy, 'y', (current) => ({ next: current, result: 'none' }))).toBe('none');
  });

  it('runs the change again on what another writer stored in between', async () => {
    const records = new MemoryRecords();
    const c = records.collection('counters', codec);
    const racing = interleaved(records, () => updateRecord(c, 'x', bump)).collection(
      'counters',
      codec,
    );
    const seen: Array<number | undefined> = [];
    const result = await updateRecord(racing, 'x', (current) => {
      seen.push(current?.n);
      return bump(current);
    });
    // First run on nothing, lost to the other writer's 1, run again on it.
    expect(seen).toEqual([undefined, 1]);
    expect(result).toBe(2);
    expect(c.get('x')).toEqual({ n: 2 });
  });

  it('stores nothing when the change throws', async () => {
    const c = new MemoryRecords().collection('counters', codec);
    c.put('x', { n: 1 });
    expect(() =>
      updateRecord(c, 'x', () => {
        throw new RangeError('refused');
      }),
    ).toThrow('refused');
    expect(c.get('x')).toEqual({ n: 1 });
  });

  it('gives up after many lost races instead of spinning for good', async () => {
    const c = new MemoryRecords().collection('counters', codec);
    const losing: Collection<Counter> = {
      get: (id) => c.get(id),
      getMany: (ids) => c.getMany(ids),
      list: () => c.list(),
      delete: (id) => c.delete(id),
      put: (id, v) => c.put(id, v),
      replace: () => Promise.resolve(false),
    };
    await expect(async () => updateRecord(losing, 'x', bump)).rejects.toThrow(
      /record "x" changed under each of 100 tries/,
    );
  });
});
