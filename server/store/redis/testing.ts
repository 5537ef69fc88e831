/**
 * Test helpers for the Redis store: which Redis to use, a unique prefix per run, and deleting a
 * prefix's keys afterwards (never FLUSHALL: the Redis may be shared).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { ms, type Millis } from '../../../shared/engine/units';
import type { MessagePayload } from '../../flow/types';
import { keyspace } from './keys';

/** `BATON_TEST_REDIS_URL` (a Redis the test setup started), else the local default. */
export const TEST_REDIS_URL = process.env['BATON_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** A prefix no other run uses. */
export function testPrefix(what = 'store'): string {
  return `baton-test:${what}:${randomUUID().slice(0, 8)}:`;
}

/** Deletes every key of a deployment prefix. */
export async function deletePrefix(prefix: string, url = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(url);
  try {
    const pattern = keyspace(prefix).replace(/[*?[\]\\]/g, (c) => `\\${c}`) + '*';
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (found.length > 0) await redis.unlink(...found);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** A clock a test moves by hand; time goes forward only. */
export class TestClock {
  constructor(private t = 0) {}

  now(): Millis {
    return ms(this.t);
  }

  set(t: number): void {
    if (t < this.t) throw new Error(`time goes forward only (${t} < ${this.t})`);
    this.t = t;
  }
}

/** A payload whose destination and body name the message. */
export function payloadOf(id: string): MessagePayload {
  return {
    destination: `https://example.test/${id}`,
    method: 'POST',
    headers: { 'content-type': 'text/plain', 'x-message': id },
    body: new TextEncoder().encode(`body of ${id}`),
    timeoutMs: undefined,
    retryDelay: undefined,
    redact: undefined,
  };
}
