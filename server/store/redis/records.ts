/**
 * Records in Redis (see ../records.ts), beside flow control under the deployment's hash tag:
 *   r:<collection>    hash    id → encoded document
 *   ro:<collection>   zset    ids by the order they were first put (scored by `rn`)
 *   rn                string  the counter those scores come from
 * Each operation is one small script (ioredis calls it by SHA and loads it again on NOSCRIPT), so
 * a document and its place in the order change together.
 */
import type { Redis } from 'ioredis';
import { connectRedis } from './connection';
import { after, type MaybePromise } from '../flow-store';
import { checkCollectionName, type Codec, type Collection, type Records } from '../records';
import { keyspace } from './keys';

/** KEYS: hash, order, counter. ARGV: id, document. */
const PUT = `
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
end
return 1`;

/**
 * KEYS: hash, order, counter. ARGV: id, expected present (0/1), expected, new present (0/1), new.
 */
const REPLACE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '0' then
  if cur then return 0 end
elseif cur ~= ARGV[3] then
  return 0
end
if ARGV[4] == '1' then
  if redis.call('HSET', KEYS[1], ARGV[1], ARGV[5]) == 1 then
    redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
  end
else
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1`;

/** KEYS: hash, order. ARGV: id. */
const DELETE = `
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])`;

/** KEYS: hash, order. Every document in order, read in chunks (Lua's unpack has a limit). */
const LIST = `
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
local out = {}
for i = 1, #ids, 1000 do
  local chunk = {}
  for j = i, math.min(i + 999, #ids) do chunk[#chunk + 1] = ids[j] end
  local docs = redis.call('HMGET', KEYS[1], unpack(chunk))
  for j = 1, #docs do
    if docs[j] then out[#out + 1] = docs[j] end
  end
end
return out`;

type WithScripts = Redis & {
  recordPut(hash: string, order: string, counter: string, id: string, doc: string): Promise<number>;
  recordReplace(
    hash: string,
    order: string,
    counter: string,
    id: string,
    expectedPresent: string,
    expected: string,
    present: string,
    doc: string,
  ): Promise<number>;
  recordDelete(hash: string, order: string, id: string): Promise<number>;
  recordList(hash: string, order: string): Promise<string[]>;
};

class RedisCollection<T> implements Collection<T> {
  private readonly hash: string;
  private readonly order: string;

  constructor(
    private readonly redis: WithScripts,
    space: string,
    name: string,
    private readonly codec: Codec<T>,
    private readonly counter: string,
  ) {
    this.hash = `${space}r:${name}`;
    this.order = `${space}ro:${name}`;
  }

  get(id: string): Promise<T | undefined> {
    return this.redis
      .hget(this.hash, id)
      .then((text) => (text === null ? undefined : this.codec.decode(text)));
  }

  getMany(ids: readonly string[]): MaybePromise<Array<T | undefined>> {
    if (ids.length === 0) return [];
    return after(this.redis.hmget(this.hash, ...ids), (texts) =>
      texts.map((text) => (text === null ? undefined : this.codec.decode(text))),
    );
  }

  async put(id: string, value: T): Promise<void> {
    await this.redis.recordPut(this.hash, this.order, this.counter, id, this.codec.encode(value));
  }

  async replace(id: string, expected: T | undefined, value: T | undefined): Promise<boolean> {
    const done = await this.redis.recordReplace(
      this.hash,
      this.order,
      this.counter,
      id,
      expected === undefined ? '0' : '1',
      expected === undefined ? '' : this.codec.encode(expected),
      value === undefined ? '0' : '1',
      value === undefined ? '' : this.codec.encode(value),
    );
    return done === 1;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.redis.recordDelete(this.hash, this.order, id)) === 1;
  }

  list(): MaybePromise<T[]> {
    return after(this.redis.recordList(this.hash, this.order), (docs) =>
      docs.map((text) => this.codec.decode(text)),
    );
  }
}

/** The deployment's records in Redis: every server on the same prefix sees the same ones. */
export class RedisRecords implements Records {
  readonly kind = 'redis';
  private readonly redis: WithScripts;
  private readonly space: string;
  private readonly collections = new Map<string, RedisCollection<unknown>>();

  constructor(url: string, prefix: string) {
    this.space = keyspace(prefix);
    const redis = connectRedis(url);
    redis.defineCommand('recordPut', { numberOfKeys: 3, lua: PUT });
    redis.defineCommand('recordReplace', { numberOfKeys: 3, lua: REPLACE });
    redis.defineCommand('recordDelete', { numberOfKeys: 2, lua: DELETE });
    redis.defineCommand('recordList', { numberOfKeys: 2, lua: LIST });
    this.redis = redis as WithScripts;
  }

  collection<T>(name: string, codec: Codec<T>): Collection<T> {
    checkCollectionName(name);
    let c = this.collections.get(name);
    if (c === undefined) {
      c = new RedisCollection(
        this.redis,
        this.space,
        name,
        codec as Codec<unknown>,
        `${this.space}rn`,
      );
      this.collections.set(name, c);
    }
    return c as RedisCollection<T>;
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}
