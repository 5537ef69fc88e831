import { describe, expect, it } from 'vitest';
import { BoundedMap, parseByteSize } from './retention';

describe('parseByteSize', () => {
  it('reads bytes and binary units', () => {
    expect(parseByteSize('1048576')).toBe(1_048_576);
    expect(parseByteSize('64MiB')).toBe(64 * 2 ** 20);
    expect(parseByteSize('64mb')).toBe(64 * 2 ** 20);
    expect(parseByteSize('512k')).toBe(512 * 1024);
    expect(parseByteSize('1.5GiB')).toBe(1.5 * 2 ** 30);
    expect(parseByteSize(' 0 ')).toBe(0);
  });

  it('refuses what is not a size', () => {
    for (const bad of ['', 'lots', '-1', '64 TiB', '1e3', 'MiB'])
      expect(parseByteSize(bad)).toBeNull();
  });
});

interface Item {
  size: number;
  at: number;
}

function setup(maxBytes: number, maxAgeMs: number | null = null) {
  const evicted: Array<[string, 'bytes' | 'age']> = [];
  const map = new BoundedMap<string, Item>(
    { maxBytes, maxAgeMs },
    (v) => v.size,
    (v) => v.at,
    (k, _v, why) => evicted.push([k, why]),
  );
  return { map, evicted };
}

describe('BoundedMap', () => {
  it('keeps what fits in its byte budget, forgetting the oldest first', () => {
    const { map, evicted } = setup(100);
    map.set('a', { size: 40, at: 0 }, 0);
    map.set('b', { size: 40, at: 1 }, 1);
    expect(map.bytes).toBe(80);
    map.set('c', { size: 40, at: 2 }, 2);
    expect([...map.values()].map((v) => v.at)).toEqual([1, 2]);
    expect(map.has('a')).toBe(false);
    expect(map.bytes).toBe(80);
    expect(evicted).toEqual([['a', 'bytes']]);
  });

  it('forgets as many old entries as a large new one needs, and the new one if it alone is too large', () => {
    const { map, evicted } = setup(100);
    for (const k of ['a', 'b', 'c']) map.set(k, { size: 30, at: 0 }, 0);
    map.set('big', { size: 70, at: 1 }, 1);
    expect(evicted.map(([k]) => k)).toEqual(['a', 'b']);
    expect(map.bytes).toBe(100);
    map.set('huge', { size: 101, at: 2 }, 2);
    expect(map.size).toBe(0);
    expect(map.bytes).toBe(0);
  });

  it('forgets entries older than its age limit, oldest first', () => {
    const { map, evicted } = setup(1000, 10);
    map.set('a', { size: 1, at: 0 }, 0);
    map.set('b', { size: 1, at: 5 }, 5);
    map.trim(10);
    expect(map.size).toBe(2);
    map.trim(11);
    expect(evicted).toEqual([['a', 'age']]);
    map.set('c', { size: 1, at: 20 }, 20);
    expect([...map.values()].map((v) => v.at)).toEqual([20]);
  });

  it('gives back the bytes of a deleted or replaced entry', () => {
    const { map, evicted } = setup(100);
    map.set('a', { size: 40, at: 0 }, 0);
    map.set('b', { size: 40, at: 0 }, 0);
    expect(map.delete('a')).toBe(true);
    expect(map.delete('a')).toBe(false);
    expect(map.bytes).toBe(40);
    map.set('b', { size: 10, at: 1 }, 1);
    expect(map.bytes).toBe(10);
    expect(evicted).toEqual([]);
  });
});
