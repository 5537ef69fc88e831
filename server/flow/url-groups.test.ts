import { describe, expect, it } from 'vitest';
import type { Millis } from '../../shared/engine/units';
import { InvalidRequest } from '../../shared/protocol/invalid-request';
import { isUrlGroupName, MAX_ENDPOINTS, parseEndpoints, UrlGroups } from './url-groups';

function setup() {
  let now = 1_000;
  const groups = new UrlGroups({ now: () => now as Millis });
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
  it('creates a group on its first endpoints and adds later ones, updating a known URL', () => {
    const { groups, at } = setup();
    groups.addEndpoints('g', [{ url: 'sim://a' }, { url: 'sim://b', name: 'b' }]);
    expect(groups.get('g')).toEqual({
      name: 'g',
      createdAt: 1_000,
      updatedAt: 1_000,
      endpoints: [{ url: 'sim://a' }, { url: 'sim://b', name: 'b' }],
    });
    at(2_000);
    groups.addEndpoints('g', [
      { url: 'sim://a', name: 'a' },
      { url: 'sim://c' },
      { url: 'sim://b' },
    ]);
    expect(groups.get('g')).toEqual({
      name: 'g',
      createdAt: 1_000,
      updatedAt: 2_000,
      // sim://a gains its name, sim://b keeps its own, sim://c is added once.
      endpoints: [{ url: 'sim://a', name: 'a' }, { url: 'sim://b', name: 'b' }, { url: 'sim://c' }],
    });
    groups.addEndpoints('other', [{ url: 'https://x.example' }]);
    expect(groups.list().map((g) => g.name)).toEqual(['g', 'other']);
  });

  it('refuses bad input and changes nothing', () => {
    const { groups } = setup();
    groups.addEndpoints('g', [{ url: 'sim://a', name: 'a' }]);
    const before = structuredClone(groups.get('g'));
    expect(() => groups.addEndpoints('bad name', [{ url: 'sim://a' }])).toThrow(
      /url group name "bad name" is not valid/,
    );
    expect(() => groups.addEndpoints('g', [{ url: 'sim://b' }, { url: 'nope' }])).toThrow(
      /endpoint 1/,
    );
    expect(() => groups.addEndpoints('g', [{ url: 'sim://b', name: 'a' }])).toThrow(
      /endpoint name "a" would name both "sim:\/\/a" and "sim:\/\/b"/,
    );
    expect(() => groups.addEndpoints('h', [])).toThrow(InvalidRequest);
    expect(groups.get('g')).toEqual(before);
    expect(groups.list().map((g) => g.name)).toEqual(['g']);
  });

  it('removes endpoints by url, by name or by both, and deletes a group left empty', () => {
    const { groups, at } = setup();
    groups.addEndpoints('g', [
      { url: 'sim://a', name: 'a' },
      { url: 'sim://b', name: 'b' },
      { url: 'sim://c' },
      { url: 'sim://d', name: 'd' },
    ]);
    at(5_000);
    expect(groups.removeEndpoints('g', [{ url: 'sim://c' }, { name: 'a' }])).toBeDefined();
    expect(groups.get('g')).toMatchObject({
      updatedAt: 5_000,
      endpoints: [
        { url: 'sim://b', name: 'b' },
        { url: 'sim://d', name: 'd' },
      ],
    });
    // A reference that matches nothing refuses the whole request.
    expect(() => groups.removeEndpoints('g', [{ name: 'b' }, { name: 'zzz' }])).toThrow(
      /url group "g" has no endpoint with name "zzz"/,
    );
    expect(() => groups.removeEndpoints('g', [{ url: 'sim://b', name: 'd' }])).toThrow(
      /no endpoint with url "sim:\/\/b" and name "d"/,
    );
    expect(() => groups.removeEndpoints('g', [{}])).toThrow(/give its url or its name/);
    expect(groups.get('g')?.endpoints).toHaveLength(2);
    expect(groups.removeEndpoints('nope', [{ url: 'sim://b' }])).toBeUndefined();
    groups.removeEndpoints('g', [{ url: 'sim://b', name: 'b' }, { url: 'sim://d' }]);
    expect(groups.get('g')).toBeUndefined();
    expect(groups.list()).toEqual([]);
  });

  it('deletes a group', () => {
    const { groups } = setup();
    groups.addEndpoints('g', [{ url: 'sim://a' }]);
    expect(groups.delete('g')).toBe(true);
    expect(groups.delete('g')).toBe(false);
    expect(groups.get('g')).toBeUndefined();
  });

  it('reads a publish to a group as one publish per endpoint, all checked first', () => {
    const { groups } = setup();
    expect(groups.publishesTo('g', {}, undefined, 0 as Millis)).toBeUndefined();
    groups.addEndpoints('g', [{ url: 'sim://a?duration=5ms' }, { url: 'https://b.example/x' }]);
    const headers = {
      'upstash-flow-control-key': 'k',
      'upstash-flow-control-value': 'parallelism=1',
      'upstash-delay': '10s',
      'upstash-deduplication-id': 'd1',
      'upstash-forward-x-a': '1',
      'content-type': 'application/json',
    };
    const parsed = groups.publishesTo('g', headers, '{"a":1}', 1_000 as Millis)!;
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
    expect(() =>
      groups.publishesTo('g', { 'upstash-retries': 'many' }, undefined, 0 as Millis),
    ).toThrow(/Upstash-Retries/);
  });
});
