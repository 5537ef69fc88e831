/**
 * W5's peers on one Redis, each behind the closed loop's `Acquire`: redis-semaphore (a counting
 * semaphore of sorted-set leases, taken by polling) and Bottleneck in its Redis mode (jobs
 * scheduled through Lua scripts, woken by pub/sub). Each runs on its own key prefix or id.
 */
import { randomBytes } from 'node:crypto';
import Bottleneck from 'bottleneck';
import Redis from 'ioredis';
import { Semaphore } from 'redis-semaphore';
import type { Acquire } from './closed-loop';

export interface Peer {
  acquire: Acquire;
  close(): Promise<void>;
}

const unique = () => randomBytes(4).toString('hex');

/**
 * redis-semaphore with its defaults but the acquire timeout (a loop of 50 callers on a limit of 10
 * can wait longer than its 10 s default under load): each `acquire` makes a semaphore object and
 * polls every `retryInterval` (10 ms by default) until a lease is free.
 */
export function redisSemaphore(url: string, limit: number): Peer {
  const redis = new Redis(url);
  const key = `bench-w5-semaphore-${unique()}`;
  return {
    async acquire() {
      const s = new Semaphore(redis, key, limit, { acquireTimeout: 60_000 });
      await s.acquire();
      return () => s.release();
    },
    async close() {
      await redis.del(key);
      redis.disconnect();
    },
  };
}

/** Bottleneck with `maxConcurrent` and the ioredis datastore: a slot is one running job. */
export function bottleneckRedis(url: string, limit: number): Peer {
  const { hostname, port } = new URL(url);
  const limiter = new Bottleneck({
    id: `bench-w5-bottleneck-${unique()}`,
    maxConcurrent: limit,
    datastore: 'ioredis',
    clearDatastore: true,
    clientOptions: { host: hostname, port: Number(port) },
    Redis,
  });
  return {
    acquire() {
      return new Promise((resolveAcquired, reject) => {
        // The job holds the slot until the caller gives it back.
        limiter
          .schedule(
            () =>
              new Promise<void>((releaseJob) =>
                resolveAcquired(() => {
                  releaseJob();
                  return Promise.resolve();
                }),
              ),
          )
          .catch(reject);
      });
    },
    async close() {
      await limiter.disconnect(true);
    },
  };
}
