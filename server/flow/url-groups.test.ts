import { describe, expect, it } from 'vitest';
import type { Millis } from '../../shared/engine/units';
import { InvalidRequest } from '../../shared/protocol/invalid-request';
import { MemoryRecords } from '../store/records';
import { interleaved } from '../test/interleaved-records';
import {
  isUrlGroupName,
  MAX_ENDPOINTS,
  parseEndpoints,
  UrlGroups,
  type UrlGroup,
} from './url-groups';

function setup() {
  let now = 1_000;
  const groups = new UrlGroups({ now: () => now as Millis }, new MemoryRecords());
  return { groups, at: (t: number) => (now = t) };
}

describe('isUrlGroupName', () => {
  it.each(['a', 'my-group', 'v1.events_all', 'A'.repeat(128)])('accepts %j', (name) => {
    expect(isUrlGroupName(name)).toBe(true);
  });
  it.each(['', 'A'.repeat(129), 'a b', 'a/b', 'https://x.y', 'sim://w', 'ü', 'a?x=1'])(
    'refuses %j',
    (name) => {
      expect(isUrlGroupName(name)).toBe(false);
    },
  );
});

describe('parseEndpoints', () => {
  it('reads {url, name?} with http(s) and sim URLs', () => {
    expect(
      parseEndpoints([
        { url: 'https://a.example/x?y=1' },
        { url: 'sim://w?duration=5ms', name: 'sim' },
        { url: 'http://127.0.0.1:3000/', name: null },
      ]),
    ).toEqual([
      { url: 'https://a.example/x?y=1' },
      { url: 'sim://w?duration=5ms', name: 'sim' },
      { url: 'http://127.0.0.1:3000/' },
    ]);
  });

  it.each([
    [undefined, /non-empty array/],
    [[], /non-empty array/],
    [{ url: 'https://a.b' }, /non-empty array/],
    [['https://a.b'], /endpoint 0 must be an object/],
    [[{ name: 'x' }], /endpoint 0: url must be a string/],
    [[{ url: 'https://a.b' }, { url: 'nope' }], /endpoint 1: url "nope" is not an absolute URL/],
    [[{ url: 'ftp://a.b' }], /endpoint 0: url "ftp:\/\/a.b" must use http, https or sim/],
    [[{ url: 'sim://w?fail=9' }], /endpoint 0:.*fail/],
    [[{ url: 'https://a.b', name: '' }], /endpoint 0: name must be a string/],
    [[{ url: 'https://a.b', name: 3 }], /endpoint 0: name must be a string/],
    [Array.from({ length: MAX_ENDPOINTS + 1 }, () => ({ url: 'https://a.b' })), /at most/],
  ])('refuses %j', (raw, message) => {
    expect(() => parseEndpoints(raw)).toThrow(InvalidRequest);
    expect(() => parseEndpoints(raw)).toThrow(message);
  });
});

describe('UrlGroups', () => {
  it('creates a group on its first endpoints and adds later ones, updating a known URL', async () => {
    const { groups, at } = setup();
    await groups.addEndpoints('g', [{ url: 'sim://a' }, { url: 'sim://b', name: 'b' }]);
    expect(await groups.get('g')).toEqual({
      name: 'g',
      createdAt: 1_000,
      updatedAt: 1_000,
      endpoints: [{ url: 'sim://a' }, { url: 'sim://b', name: 'b' }],
    });
    at(2_000);
    await groups.addEndpoints('g', [
      { url: 'sim://a', name: 'a' },
      { url: 'sim://c' },
      { url: 'sim://b' },
    ]);
    expect(await groups.get('g')).toEqual({
      name: 'g',
      createdAt: 1_000,
      updatedAt: 2_000,
      // sim://a gains its name, sim://b keeps its own, sim://c is added once.
      endpoints: [{ url: 'sim://a', name: 'a' }, { url: 'sim://b', name: 'b' }, { url: 'sim://c' }],
    });
    await groups.addEndpoints('other', [{ url: 'https://x.example' }]);
    expect((await groups.list()).map((g) => g.name)).toEqual(['g', 'other']);
  });

  it('answers at once on memory records, and hands out copies', async () => {
    const { groups } = setup();
    const added = groups.addEndpoints('g', [{ url: 'sim://a' }]);
    expect(added).not.toBeInstanceOf(Promise);
    const read = groups.get('g');
    expect(read).not.toBeInstanceOf(Promise);
    (read as UrlGroup).endpoints.push({ url: 'sim://changed' });
    expect((await groups.get('g'))?.endpoints).toEqual([{ url: 'sim://a' }]);
    expect(groups.publishesTo('g', {}, undefined, 0 as Millis)).not.toBeInstanceOf(Promise);
  });

  it('refuses bad input and changes nothing', async () => {
    const { groups } = setup();
    await groups.addEndpoints('g', [{ url: 'sim://a', name: 'a' }]);
    const before = await groups.get('g');
    await expect(async () => groups.addEndpoints('bad name', [{ url: 'sim://a' }])).rejects.toThrow(
      /url group name "bad name" is not valid/,
    );
    await expect(async () =>
      groups.addEndpoints('g', [{ url: 'sim://b' }, { url: 'nope' }]),
    ).rejects.toThrow(/endpoint 1/);
    await expect(async () =>
      groups.addEndpoints('g', [{ url: 'sim://b', name: 'a' }]),
    ).rejects.toThrow(/endpoint name "a" would name both "sim:\/\/a" and "sim:\/\/b"/);
    await expect(async () => groups.addEndpoints('h', [])).rejects.toThrow(InvalidRequest);
    expect(await groups.get('g')).toEqual(before);
    expect((await groups.list()).map((g) => g.name)).toEqual(['g']);
  });

  it('removes endpoints by url, by name or by both, and deletes a group left empty', async () => {
    const { groups, at } = setup();
    await groups.addEndpoints('g', [
      { url: 'sim://a', name: 'a' },
      { url: 'sim://b', name: 'b' },
      { url: 'sim://c' },
      { url: 'sim://d', name: 'd' },
    ]);
    at(5_000);
    expect(await groups.removeEndpoints('g', [{ url: 'sim://c' }, { name: 'a' }])).toBeDefined();
    expect(await groups.get('g')).toMatchObject({
      updatedAt: 5_000,
      endpoints: [
        { url: 'sim://b', name: 'b' },
        { url: 'sim://d', name: 'd' },
      ],
    });
    // A reference that matches nothing refuses the whole request.
    await expect(async () =>
      groups.removeEndpoints('g', [{ name: 'b' }, { name: 'zzz' }]),
    ).rejects.toThrow(/url group "g" has no endpoint with name "zzz"/);
    await expect(async () =>
      groups.removeEndpoints('g', [{ url: 'sim://b', name: 'd' }]),
    ).rejects.toThrow(/no endpoint with url "sim:\/\/b" and name "d"/);
    await expect(async () => groups.removeEndpoints('g', [{}])).rejects.toThrow(
      /give its url or its name/,
    );
    expect((await groups.get('g'))?.endpoints).toHaveLength(2);
    expect(await groups.removeEndpoints('nope', [{ url: 'sim://b' }])).toBeUndefined();
    await groups.removeEndpoints('g', [{ url: 'sim://b', name: 'b' }, { url: 'sim://d' }]);
    expect(await groups.get('g')).toBeUndefined();
    expect(await groups.list()).toEqual([]);
  });

  it('deletes a group', async () => {
    const { groups } = setup();
    await groups.addEndpoints('g', [{ url: 'sim://a' }]);
    expect(await groups.delete('g')).toBe(true);
    expect(await groups.delete('g')).toBe(false);
    expect(await groups.get('g')).toBeUndefined();
  });

  it('keeps both sides of a concurrent add: the later writer adds to what the first stored', async () => {
    // Two servers on one records store: B reads the group, A adds an endpoint, B then writes.
    const records = new MemoryRecords();
    const clock = { now: () => 1_000 as Millis };
    const a = new UrlGroups(clock, records);
    const b = new UrlGroups(
      clock,
      interleaved(records, () => a.addEndpoints('g', [{ url: 'sim://a' }])),
    );
    await a.addEndpoints('g', [{ url: 'sim://first' }]);
    await b.addEndpoints('g', [{ url: 'sim://b' }]);
    expect((await a.get('g'))?.endpoints).toEqual([
      { url: 'sim://first' },
      { url: 'sim://a' },
      { url: 'sim://b' },
    ]);
  });

  it('reads a publish to a group as one publish per endpoint, all checked first', async () => {
    const { groups } = setup();
    expect(await groups.publishesTo('g', {}, undefined, 0 as Millis)).toBeUndefined();
    await groups.addEndpoints('g', [
      { url: 'sim://a?duration=5ms' },
      { url: 'https://b.example/x' },
    ]);
    const headers = {
      'upstash-flow-control-key': 'k',
      'upstash-flow-control-value': 'parallelism=1',
      'upstash-delay': '10s',
      'upstash-deduplication-id': 'd1',
      'upstash-forward-x-a': '1',
      'content-type': 'application/json',
    };
    const parsed = (await groups.publishesTo('g', headers, '{"a":1}', 1_000 as Millis))!;
    expect(parsed).toHaveLength(2);
    for (const [i, url] of ['sim://a?duration=5ms', 'https://b.example/x'].entries()) {
      expect(parsed[i]).toMatchObject({
        urlGroup: 'g',
        deduplicationId: 'd1',
        input: { key: 'k', config: { parallelism: 1 }, notBefore: 11_000 },
        payload: {
          destination: url,
          method: 'POST',
          headers: { 'x-a': '1', 'content-type': 'application/json' },
          body: new TextEncoder().encode('{"a":1}'),
        },
      });
    }
    await expect(async () =>
      groups.publishesTo('g', { 'upstash-retries': 'many' }, undefined, 0 as Millis),
    ).rejects.toThrow(/Upstash-Retries/);
  });
});
