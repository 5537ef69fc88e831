/**
 * Connections to Redis. ioredis reconnects by itself and holds commands meanwhile; without an
 * 'error' listener it also prints each failed attempt with its stack ("[ioredis] Unhandled error
 * event"), from every connection a server holds: hundreds of lines a minute while Redis is down.
 */
import { Redis, type RedisOptions } from 'ioredis';

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password !== '') u.password = '***';
  return u.toString();
}

/**
 * A connection whose errors are heard. Given `warn`, it says once that Redis stopped answering
 * (with the first error) and once that it answers again; without it, it says nothing and leaves
 * that to a connection that has one (a server's connections all reach the same Redis).
 */
export function connectRedis(
  url: string,
  options: RedisOptions = {},
  warn?: (msg: string, err?: unknown) => void,
): Redis {
  const redis = new Redis(url, options);
  let down = false;
  redis.on('error', (err: unknown) => {
    if (warn === undefined || down) return;
    down = true;
    warn(`Redis at ${redactUrl(url)} is not answering; commands wait while it reconnects`, err);
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    warn?.(`Redis at ${redactUrl(url)} answers again`);
  });
  return redis;
}
