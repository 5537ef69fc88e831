import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { keyId, messageId } from '../../../shared/engine/units';
import { testRedisUrl } from '../contract/test-redis-url';
import { parseEntry, streamIdAtOrBefore } from './event-reader';
import { RedisStore } from './redis-store';
import { deletePrefix, payloadOf, testPrefix } from './testing';

const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(p, testRedisUrl());
});

describe('streamIdAtOrBefore', () => {
  it('orders stream ids by time, then sequence, as numbers', () => {
    expect(streamIdAtOrBefore('5-0', '5-0')).toBe(true);
    expect(streamIdAtOrBefore('5-1', '5-10')).toBe(true);
    expect(streamIdAtOrBefore('5-10', '5-9')).toBe(false);
    expect(streamIdAtOrBefore('99-0', '100-0')).toBe(true);
    expect(streamIdAtOrBefore('1700000000001-0', '1700000000000-5')).toBe(false);
    expect(streamIdAtOrBefore('0-0', '1-0')).toBe(true);
  });
});

/** What parseEntry makes of entry 5-0 by server x whose commands 7 and 9 had one event each. */
const entryOf = (events: readonly unknown[]) => ({
  id: '5-0',
  owner: 'x',
  commands: [
    { no: 7, events: [events[0]] },
    { no: 9, events: [events[1]] },
  ],
  events,
});

describe('parseEntry', () => {
  it('decodes the entries the store writes: each command its own events, in order', async () => {
    const prefix = testPrefix('entries');
    prefixes.push(prefix);
    const store = await RedisStore.open({ url: testRedisUrl(), prefix });
    const redis = new Redis(testRedisUrl());
    try {
      const config = { parallelism: 1 };
      const [a, b] = await Promise.all([
        store.accept({ id: messageId('a'), key: keyId('k'), config }, payloadOf('a')),
        store.accept({ id: messageId('b'), key: keyId('k'), config }, payloadOf('b')),
      ]);
      const entries = await redis.xrangeBuffer(`${store.names.events}`, '-', '+');
      const parsed = entries.map(([id, fields]) => parseEntry(id.toString(), fields));
      expect(parsed.map((e) => e?.owner)).toEqual(parsed.map(() => store.serverId));
      const commands = parsed.flatMap((e) => e?.commands ?? []);
      expect(commands.map((c) => c.events)).toEqual([a.events, b.events]);
      expect(parsed.flatMap((e) => e?.events ?? [])).toEqual([...a.events, ...b.events]);
    } finally {
      redis.disconnect();
      await store.close();
    }
  });

  it('decodes an entry whose events are msgpack maps (as earlier versions wrote)', async () => {
    const events = [
      { seq: 3, at: 2_000, type: 'message:accepted', key: 'k', messageId: 'm' },
      { seq: 4, at: 2_000, type: 'message:delivered', key: 'k', messageId: 'm' },
    ];
    const redis = new Redis(testRedisUrl());
    try {
      const evalBuffer = (redis as unknown as { evalBuffer: (...a: unknown[]) => Promise<Buffer> })
        .evalBuffer;
      const lua = (e: (typeof events)[number]) =>
        `{ seq = ${e.seq}, at = ${e.at}, type = '${e.type}', key = '${e.key}', messageId = '${e.messageId}' }`;
      const m: Buffer = await evalBuffer.call(
        redis,
        `return cmsgpack.pack({ ${lua(events[0]!)} }) .. cmsgpack.pack({ ${lua(events[1]!)} })`,
        0,
      );
      const fields = [Buffer.from('o'), Buffer.from('x'), Buffer.from('c'), Buffer.from('7:1,9:1')];
      expect(parseEntry('5-0', [...fields, Buffer.from('m'), m])).toEqual(entryOf(events));
    } finally {
      redis.disconnect();
    }
  });

  it('decodes an entry whose events are one JSON array (as earlier versions wrote)', () => {
    const events = [
      { seq: 3, at: 2_000, type: 'message:accepted', key: 'k', messageId: 'm' },
      { seq: 4, at: 2_000, type: 'message:delivered', key: 'k', messageId: 'm' },
    ];
    const fields = ['o', 'x', 'c', '7:1,9:1', 'e', JSON.stringify(events)].map((f) =>
      Buffer.from(f),
    );
    expect(parseEntry('5-0', fields)).toEqual(entryOf(events));
  });
});
