/**
 * Every Redis key of one deployment, named in one place. The Lua scripts build the per-key and
 * per-message names the same way (lua/core-*.lua), from the hash-tagged prefix they are given.
 *
 * All of a deployment's keys share one hash tag, `{<prefix>}`: a script touches a flow-control
 * key, the global state and the event stream at once, so in a Redis Cluster they must share a
 * slot. A Cluster therefore gives failover, not write scaling.
 */

/** The hash-tagged prefix every key starts with, e.g. `{baton:}`. */
export function keyspace(prefix: string): string {
  if (prefix.includes('{') || prefix.includes('}')) {
    throw new RangeError(`the Redis prefix may not contain { or }, got "${prefix}"`);
  }
  return `{${prefix}}`;
}

export interface RedisKeys {
  /** String (msgpack): global limit, in flight, last seq, stats, random source, counters. */
  global: string;
  /** Sorted set: every flow-control key, scored by creation (the engine's Map order). */
  keys: string;
  /** Sorted set: delayed and retrying messages and rate-window ends, by instant. */
  wake: string;
  /** Sorted set: in-flight message ids by lease expiry. */
  leases: string;
  /** List: keys whose head waits only for a global slot, in the order they began to wait. */
  globalQueue: string;
  /** Stream: one entry per batch: its writer (`o`) and its commands' events (`v`, msgpack). */
  events: string;
  /** String (msgpack): one key's config, counters and rate window. */
  key(id: string): string;
  /** List: one key's waitlist, `<ticket>:<message id>` entries. */
  waitlist(id: string): string;
  /** Sorted set: one key's in-flight message ids, in start order. */
  active(id: string): string;
  /** Hash: one message's record (`c`, msgpack), payload (`p`, JSON) and body (`b`, bytes). */
  message(id: string): string;
}

export function redisKeys(space: string): RedisKeys {
  return {
    global: `${space}g`,
    keys: `${space}keys`,
    wake: `${space}wake`,
    leases: `${space}leases`,
    globalQueue: `${space}gq`,
    events: `${space}events`,
    key: (id) => `${space}k:${id}`,
    waitlist: (id) => `${space}w:${id}`,
    active: (id) => `${space}a:${id}`,
    message: (id) => `${space}m:${id}`,
  };
}
