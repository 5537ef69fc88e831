import { describe, expect, it } from 'vitest';
import { runRecordsContract } from '../contract/records-contract';
import { testRedisUrl } from '../contract/test-redis-url';
import { jsonCodec } from '../records';
import { RedisRecords } from './records';
import { deletePrefix, testPrefix } from './testing';

runRecordsContract('redis', async () => {
  const url = testRedisUrl();
  const prefix = testPrefix('records');
  const records = new RedisRecords(url, prefix);
  const other = new RedisRecords(url, prefix);
  return {
    records,
    other,
    cleanup: async () => {
      await records.close();
      await other.close();
      await deletePrefix(prefix, url);
    },
  };
});

describe('redis records', () => {
  it('are shared by every server on one prefix, and apart from another prefix', async () => {
    const url = testRedisUrl();
    const prefix = testPrefix('records');
    const elsewhere = testPrefix('records');
    const a = new RedisRecords(url, prefix);
    const b = new RedisRecords(url, prefix);
    const c = new RedisRecords(url, elsewhere);
    try {
      const codec = jsonCodec<{ v: number }>();
      await a.collection('groups', codec).put('g', { v: 1 });
      expect(await b.collection('groups', codec).get('g')).toEqual({ v: 1 });
      expect(await c.collection('groups', codec).get('g')).toBeUndefined();
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
      await deletePrefix(prefix, url);
      await deletePrefix(elsewhere, url);
    }
  });
});
