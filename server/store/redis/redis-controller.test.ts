/**
 * The Redis store under its real caller: two servers' `FlowController`s on one deployment, Redis's
 * own clock and real timers, deliveries that take a few ms. Every message is delivered once, the
 * shared limits hold across both servers, and both hear the same events.
 */
import { afterAll, expect, it } from 'vitest';
import type { EngineEvent } from '../../../shared/events';
import { keyId, messageId, ms } from '../../../shared/engine/units';
import { FlowController } from '../../flow/controller';
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
