import type { AddressInfo } from 'node:net';
import { QstashError } from '@upstash/qstash';
import pino from 'pino';
import { expect } from 'vitest';
import type { EngineEvent } from '../../shared/events';
import { createApp, type App, type AppOptions } from '../app';
import { testRedisUrl } from '../store/contract/test-redis-url';
import {
  openRedisDeployment,
  type RedisDeploymentOptions,
  type RedisParts,
} from '../store/redis/deployment';

export interface Running {
  app: App;
  base: string;
  close(): Promise<void>;
}

/** Starts the real app on an ephemeral loopback port. */
export async function startApp(options: Partial<AppOptions> = {}): Promise<Running> {
  const app = createApp({ log: pino({ level: 'silent' }), ...options });
  await new Promise<void>((resolve) => app.http.listen(0, '127.0.0.1', resolve));
  const { port } = app.http.address() as AddressInfo;
  return { app, base: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/**
 * A server of the deployment `prefix` on the tests' Redis, with every part in Redis as main.ts
 * builds it for `--redis`. `close` may be called more than once.
 */
export async function startRedisApp(
  prefix: string,
  options: { deployment?: Partial<RedisDeploymentOptions>; app?: Partial<AppOptions> } = {},
): Promise<Running & { redis: RedisParts }> {
  const redis = await openRedisDeployment({
    url: testRedisUrl(),
    prefix,
    warn: (msg, err) => console.warn(`redis deployment ${prefix}: ${msg}`, err ?? ''),
    ...options.deployment,
  });
  const running = await startApp({ ...redis, ...options.app });
  let closed: Promise<void> | undefined;
  return { ...running, redis, close: () => (closed ??= running.close()) };
}

/**
 * Publishes "hello" to `destination` through `base` under the flow-control key `key`
 * (parallelism 3) and answers its message id; anything but 200 throws with the answer.
 */
export async function publishUnder(
  base: string,
  key: string,
  destination: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const res = await fetch(`${base}/v2/publish/${destination}`, {
    method: 'POST',
    headers: {
      'Upstash-Flow-Control-Key': key,
      'Upstash-Flow-Control-Value': 'parallelism=3',
      ...headers,
    },
    body: 'hello',
  });
  if (res.status !== 200) throw new Error(`publish: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { messageId: string }).messageId;
}

/** Resolves with the first event matching `predicate` (tests wait for events, never sleep). */
export function nextEvent(app: App, predicate: (e: EngineEvent) => boolean): Promise<EngineEvent> {
  return new Promise((resolve) => {
    const off = app.controller.onEvents((events) => {
      const hit = events.find(predicate);
      if (hit !== undefined) {
        off();
        resolve(hit);
      }
    });
  });
}

/** Resolves once `count` events match `predicate`. */
export function collectEvents(
  app: App,
  predicate: (e: EngineEvent) => boolean,
  count: number,
): Promise<EngineEvent[]> {
  const seen: EngineEvent[] = [];
  return new Promise((resolve) => {
    const off = app.controller.onEvents((events) => {
      for (const e of events) if (predicate(e)) seen.push(e);
      if (seen.length >= count) {
        off();
        resolve(seen);
      }
    });
  });
}

/** Resolves once `n` messages of `key` are delivered; call it before publishing them. */
export const deliveredUnder = (app: App, key: string, n: number): Promise<EngineEvent[]> =>
  collectEvents(app, (e) => e.type === 'message:delivered' && e.key === key, n);

/** The error the official client threw for a refused request. */
export async function refusal(p: Promise<unknown>): Promise<QstashError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(QstashError);
  return err as QstashError;
}
