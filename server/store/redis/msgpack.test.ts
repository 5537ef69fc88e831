/**
 * The decoder against the encoder it is for, Redis's own `cmsgpack.pack`; and `packStrings` against
 * the decoder it is for, `cmsgpack.unpack`.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { testRedisUrl } from '../contract/test-redis-url';
import { MsgpackReader, packStrings, unpack } from './msgpack';

let redis: Redis | null = null;
afterAll(() => redis?.disconnect());

/** What `cmsgpack.pack(<lua>)` gives, as bytes. */
async function packed(lua: string): Promise<Buffer> {
  redis ??= new Redis(testRedisUrl());
  const evalBuffer = (redis as unknown as { evalBuffer: (...a: unknown[]) => Promise<Buffer> })
    .evalBuffer;
  return evalBuffer.call(redis, `return cmsgpack.pack(${lua})`, 0);
}

describe('unpack', () => {
  it('reads integers of every width, negative ones and floats', async () => {
    const values = [
      0,
      1,
      127,
      128,
      255,
      256,
      65535,
      65536,
      4294967295,
      4294967296,
      1796196062196,
      2 ** 53 - 1,
      -1,
      -32,
      -33,
      -128,
      -129,
      -32768,
      -32769,
      -2147483648,
      -2147483649,
      -1796196062196,
      0.5,
      -2.25,
      1.1,
    ];
    const buf = await packed(`{ ${values.map(String).join(', ')} }`);
    expect(unpack(buf)).toEqual(values);
  });

  it('reads strings of every length class, UTF-8 among them', async () => {
    const strings = ['', 'a', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(255), 'w'.repeat(256)];
    const buf = await packed(
      `{ ${strings.map((s) => `'${s}'`).join(', ')}, string.rep('v', 70000), 'héllo → ✓' }`,
    );
    expect(unpack(buf)).toEqual([...strings, 'v'.repeat(70000), 'héllo → ✓']);
  });

  it('reads maps, nested arrays, booleans and nil (cjson.null too)', async () => {
    const buf = await packed(
      `{ { type = 'token:handed-off', seq = 7, at = 1796196062196, flag = false, on = true,
          gone = cjson.null, list = { 1, { 2, 3 } } }, { a = { b = { c = 'd' } } } }`,
    );
    expect(unpack(buf)).toEqual([
      {
        type: 'token:handed-off',
        seq: 7,
        at: 1796196062196,
        flag: false,
        on: true,
        gone: null,
        list: [1, [2, 3]],
      },
      { a: { b: { c: 'd' } } },
    ]);
  });

  it('reads long arrays and big maps', async () => {
    const buf = await packed(
      `(function() local a, m = {}, {} for i = 1, 70000 do a[i] = i end
        for i = 1, 20 do m['k' .. i] = i end return { a, m } end)()`,
    );
    const [a, m] = unpack(buf) as [number[], Record<string, number>];
    expect(a).toHaveLength(70000);
    expect(a[69999]).toBe(70000);
    expect(Object.keys(m)).toHaveLength(20);
    expect(m['k20']).toBe(20);
  });

  it('reads values packed one after another, and the same short string from its cache', async () => {
    const one = await packed(`{ 'w5-1', 'w5-1' }`);
    const two = await packed(`{ 'w5-2', 'w5-1' }`);
    const reader = new MsgpackReader(Buffer.concat([one, two]));
    expect(reader.read()).toEqual(['w5-1', 'w5-1']);
    expect(reader.done).toBe(false);
    expect(reader.read()).toEqual(['w5-2', 'w5-1']);
    expect(reader.done).toBe(true);
  });

  it('reads bytes as they are (nil and false as none) and array headers', async () => {
    const buf = await packed(
      `{ {}, 'abc', string.char(0, 255, 128), false, 'x', string.rep('y', 300) }`,
    );
    const reader = new MsgpackReader(buf);
    expect(reader.arrayLength()).toBe(6);
    expect(reader.arrayLength()).toBe(0);
    expect(reader.bytes()).toEqual(Buffer.from('abc'));
    expect(reader.bytes()).toEqual(Buffer.from([0, 255, 128]));
    expect(reader.bytes()).toBeNull();
    expect(reader.read()).toBe('x');
    expect(reader.bytes()).toEqual(Buffer.from('y'.repeat(300)));
    expect(reader.done).toBe(true);
    expect(() => new MsgpackReader(buf).bytes()).toThrow(RangeError);
  });

  it('refuses a value cut short', async () => {
    const buf = await packed(`{ 'abcdef', 1 }`);
    expect(() => unpack(buf.subarray(0, 4))).toThrow(RangeError);
  });
});

describe('packStrings', () => {
  /** What a script reads from the packed list: each value, as a string. */
  async function unpacked(values: Array<string | number | Buffer>): Promise<Buffer[]> {
    redis ??= new Redis(testRedisUrl());
    const evalBuffer = (redis as unknown as { evalBuffer: (...a: unknown[]) => Promise<Buffer[]> })
      .evalBuffer;
    return evalBuffer.call(redis, 'return cmsgpack.unpack(ARGV[1])', 0, packStrings(values));
  }

  it('gives a script each value as the argument it would have been', async () => {
    const bytes = Buffer.from([0, 255, 0x80, 13, 10, 0xc0]);
    const values = [
      '',
      'accept',
      '',
      'é',
      'héllo → ✓ 🎉',
      'x'.repeat(85),
      'y'.repeat(86),
      'z'.repeat(70000),
      `{"destination":"https://example.test/ü","headers":{}}`,
      0,
      42,
      1796196062196,
      bytes,
      Buffer.alloc(0),
    ];
    const got = await unpacked(values);
    expect(got.map((b) => (Buffer.isBuffer(b) ? b : Buffer.from(String(b))))).toEqual(
      values.map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(String(v)))),
    );
  });

  it('packs lists of every length class', async () => {
    for (const n of [0, 15, 16, 65535, 65536]) {
      const values = Array.from({ length: n }, (_, i) => String(i % 10));
      const got = await unpacked(values);
      expect(got).toHaveLength(n);
      if (n > 0) expect(got[n - 1]!.toString()).toBe(String((n - 1) % 10));
    }
  });
});
