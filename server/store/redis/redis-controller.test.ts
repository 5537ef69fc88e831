/**
 * The Redis store under its real caller: two servers' `FlowController`s on one deployment, Redis's
 * own clock and real timers, deliveries that take a few ms. Every message is delivered once, the
 * shared limits hold across both servers, and both hear the same events.
 */
import { afterAll, expect, it, onTestFinished } from 'vitest';
import type { EngineEvent } from '../../../shared/events';
import { keyId, messageId, ms } from '../../../shared/engine/units';
import { FlowController } from '../../flow/controller';
import { drain } from '../../flow/shutdown';
import type { Deliverer } from '../../flow/types';
import { systemClock } from '../../flow/types';
import { RedisStore } from './redis-store';
import { TEST_REDIS_URL, deletePrefix, payloadOf, testPrefix } from './testing';

const prefix = testPrefix('controller');
afterAll(() => deletePrefix(prefix));

it('delivers every message once under limits two servers share', async () => {
  const PARALLELISM = 3;
  const RATE = 8;
  const PERIOD = ms(100);
  const COUNT = 40;
  let running = 0;
  let most = 0;
  const delivered: string[] = [];
  const deliverer: Deliverer = {
    async deliver(d) {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 3));
      running--;
      delivered.push(`${d.id}#${d.attempt}`);
      return { ok: true, status: 200 };
    },
  };
  const servers = await Promise.all(
    [0, 1].map(async () => {
      const store = await RedisStore.open({ url: TEST_REDIS_URL, prefix });
      const controller = new FlowController({ store, clock: systemClock, deliverer });
      const heard: EngineEvent[] = [];
      controller.onEvents((events) => heard.push(...events));
      return { controller, heard };
    }),
  );
  const allDelivered = Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          const count = () => s.heard.filter((e) => e.type === 'message:delivered').length;
          s.controller.onEvents(() => {
            if (count() === COUNT) resolve();
          });
        }),
    ),
  );
  const config = { parallelism: PARALLELISM, rate: RATE, periodMs: PERIOD };
  await Promise.all(
    Array.from({ length: COUNT }, (_, i) =>
      servers[i % 2]!.controller.publish(
        { id: messageId(`m${i}`), key: keyId('k'), config },
        payloadOf(`m${i}`),
      ),
    ),
  );
  await allDelivered;
  try {
    expect(delivered.sort()).toEqual(Array.from({ length: COUNT }, (_, i) => `m${i}#0`).sort());
    expect(most).toBeLessThanOrEqual(PARALLELISM);
    const [a, b] = servers;
    expect(b!.heard).toEqual(a!.heard);
    // No window held more than RATE starts.
    const perWindow = new Map<number, number>();
    for (const e of a!.heard) {
      if ((e.type === 'token:acquired' || e.type === 'token:handed-off') && e.ratePeriodStart) {
        perWindow.set(e.ratePeriodStart, (perWindow.get(e.ratePeriodStart) ?? 0) + 1);
      }
    }
    expect(Math.max(...perWindow.values())).toBeLessThanOrEqual(RATE);
    expect([...perWindow.values()].reduce((x, y) => x + y, 0)).toBe(COUNT);
  } finally {
    await Promise.all(servers.map((s) => s.controller.close()));
  }
});

it('hands a stopping server’s tokens to the other at once, not when its leases run out', async () => {
  const COUNT = 30;
  const delivered: Array<{ id: string; attempt: number; by: number; late: boolean; at: number }> =
    [];
  /** Set just before server 0's stop begins (`drain` stops its starts before it first waits). */
  let stopping = false;
  let hung: (() => void) | null = null;
  const deliverer = (by: number): Deliverer => ({
    async deliver(d) {
      const late = stopping;
      // One delivery on server 0 never answers within its stop's timeout.
      if (by === 0 && d.id === 'hang') await new Promise<void>((r) => (hung = r));
      else await new Promise((r) => setTimeout(r, 20));
      delivered.push({ id: d.id, attempt: d.attempt, by, late, at: Date.now() });
      return { ok: true, status: 200 };
    },
  });
  const stopPrefix = testPrefix('stop');
  const servers = await Promise.all(
    [0, 1].map(async (by) => {
      // Leases of 30 s (the default): waiting for one would outlast this test's deadline.
      const store = await RedisStore.open({ url: TEST_REDIS_URL, prefix: stopPrefix });
      return new FlowController({ store, clock: systemClock, deliverer: deliverer(by) });
    }),
  );
  const a = servers[0]!;
  onTestFinished(async () => {
    hung?.();
    await Promise.all(servers.map((s) => s.close()));
    await deletePrefix(stopPrefix);
  });
  // The message that hangs starts on server 0 first (its key is free), then a burst on one key.
  await a.publish({ id: messageId('hang'), key: keyId('h') }, payloadOf('hang'));
  const config = { parallelism: 3 };
  await Promise.all(
    Array.from({ length: COUNT }, (_, i) =>
      servers[i % 2]!.publish(
        { id: messageId(`m${i}`), key: keyId('k'), config },
        payloadOf(`m${i}`),
      ),
    ),
  );
  while (delivered.length < 6) await new Promise((r) => setTimeout(r, 5));
  const stopAt = Date.now();
  stopping = true;
  const report = await drain(a, 300);
  expect(report.abandoned).toBe(1);
  const ids = () => new Set(delivered.map((d) => d.id));
  const deadline = Date.now() + 10_000;
  while (ids().size < COUNT + 1 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 10));
  expect(ids().size).toBe(COUNT + 1);
  // Server 0 began nothing after its stop began, and the message it left hanging went on at
  // once on server 1, as its next attempt.
  expect(delivered.filter((d) => d.by === 0 && d.late)).toEqual([]);
  expect(delivered.find((d) => d.id === 'hang')).toMatchObject({ by: 1, attempt: 1 });
  // Everything took about as long as the burst, not a lease.
  expect(Math.max(...delivered.map((d) => d.at)) - stopAt).toBeLessThan(5_000);
  // Each message once (the hanging one never answered on server 0).
  expect(delivered.length).toBe(COUNT + 1);
});
