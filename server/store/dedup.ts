/**
 * Deduplication ids (`Upstash-Deduplication-Id`, content-based deduplication): which message an id
 * names, for a while. In memory by default; in Redis with `--redis`, so a publish retried against
 * another server is still recognised.
 *
 * A claim is made before the message is accepted and given back when the accept fails, so two
 * servers publishing the same id at once accept it once.
 */
import type { Redis } from 'ioredis';
import { connectRedis } from './redis/connection';
import type { MessageId } from '../../shared/engine/units';
import { keyspace } from './redis/keys';
import type { MaybePromise } from './flow-store';

export interface DedupIds {
  /**
   * Claims `dedupId` for `messageId` for `ttlMs`, unless another message holds it: answers the
   * holder (`messageId` itself when this call claimed it).
   */
  claim(dedupId: string, messageId: MessageId, ttlMs: number): MaybePromise<MessageId>;
  /** Gives back a claim whose message was not accepted after all. */
  release(dedupId: string, messageId: MessageId): MaybePromise<void>;
  close(): MaybePromise<void>;
}

/** This process's ids, in insertion order (which is expiry order: every claim has one ttl). */
export class MemoryDedupIds implements DedupIds {
  private readonly held = new Map<string, { messageId: MessageId; until: number }>();

  constructor(private readonly now: () => number) {}

  claim(dedupId: string, messageId: MessageId, ttlMs: number): MessageId {
    const now = this.now();
    this.forgetExpired(now);
    const seen = this.held.get(dedupId);
    if (seen !== undefined && seen.until > now) return seen.messageId;
    this.held.delete(dedupId);
    this.held.set(dedupId, { messageId, until: now + ttlMs });
    return messageId;
  }

  release(dedupId: string, messageId: MessageId): void {
    if (this.held.get(dedupId)?.messageId === messageId) this.held.delete(dedupId);
  }

  close(): void {}

  private forgetExpired(now: number): void {
    for (const [id, d] of this.held) {
      if (d.until > now) break;
      this.held.delete(id);
    }
  }
}

/** SET NX PX, and the holder when it is taken: one round trip, atomic. */
const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return ARGV[1] end
return redis.call('GET', KEYS[1]) or ARGV[1]`;
/** Deletes the claim only if it is still this message's. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0`;

type WithScripts = Redis & {
  dedupClaim(key: string, messageId: string, ttlMs: number): Promise<string>;
  dedupRelease(key: string, messageId: string): Promise<number>;
};

/** The deployment's ids in Redis, beside its flow control (same prefix and hash tag). */
export class RedisDedupIds implements DedupIds {
  private readonly redis: WithScripts;
  private readonly space: string;

  constructor(url: string, prefix: string) {
    this.space = keyspace(prefix);
    const redis = connectRedis(url);
    // ioredis calls these by SHA and loads them again on NOSCRIPT.
    redis.defineCommand('dedupClaim', { numberOfKeys: 1, lua: CLAIM });
    redis.defineCommand('dedupRelease', { numberOfKeys: 1, lua: RELEASE });
    this.redis = redis as WithScripts;
  }

  private key(dedupId: string): string {
    return `${this.space}dedup:${dedupId}`;
  }

  async claim(dedupId: string, messageId: MessageId, ttlMs: number): Promise<MessageId> {
    return (await this.redis.dedupClaim(this.key(dedupId), messageId, ttlMs)) as MessageId;
  }

  async release(dedupId: string, messageId: MessageId): Promise<void> {
    await this.redis.dedupRelease(this.key(dedupId), messageId);
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}
