import { describe, expect, it } from 'vitest';
import type { AttemptResult } from '../../shared/engine/types';
import { keyId, messageId, ms } from '../../shared/engine/units';
import type { Deliverer, Delivery } from '../flow/types';
import { routeDeliverer } from './router';

const answering = (result: AttemptResult, seen: string[], name: string): Deliverer => ({
  deliver: () => {
    seen.push(name);
    return Promise.resolve(result);
  },
});

const delivery = (destination: string, attempt: number, retryDelay?: string): Delivery => ({
  id: messageId('m'),
  key: keyId('k'),
  attempt,
  payload: {
    destination,
    method: 'POST',
    headers: {},
    ...(retryDelay !== undefined ? { retryDelay } : {}),
  },
});

describe('routeDeliverer', () => {
  it('sends sim:// to the simulator and the rest over HTTP', async () => {
    const seen: string[] = [];
    const ok: AttemptResult = { ok: true, status: 200 };
    const d = routeDeliverer({
      sim: answering(ok, seen, 'sim'),
      http: answering(ok, seen, 'http'),
    });
    await d.deliver(delivery('sim://a', 0));
    await d.deliver(delivery('http://127.0.0.1:1/a', 0));
    expect(seen).toEqual(['sim', 'http']);
  });

  it("applies the message's Upstash-Retry-Delay to a failed attempt of either kind", async () => {
    const failed: AttemptResult = { ok: false, status: 500 };
    const d = routeDeliverer({
      sim: answering(failed, [], 'sim'),
      http: answering(failed, [], 'http'),
    });
    // 1000 * (1 + retried): the attempt that failed is the one counted.
    expect(await d.deliver(delivery('sim://a', 2, '1000 * (1 + retried)'))).toEqual({
      ...failed,
      retryDelayMs: 3000,
    });
    expect(await d.deliver(delivery('http://127.0.0.1:1/a', 0, '250'))).toEqual({
      ...failed,
      retryDelayMs: 250,
    });
    expect(await d.deliver(delivery('sim://a', 0))).toEqual(failed);
  });

  it("keeps the destination's own delay and leaves successes alone", async () => {
    const asked: AttemptResult = { ok: false, status: 429, retryDelayMs: ms(7000) };
    const ok: AttemptResult = { ok: true, status: 200 };
    const d = routeDeliverer({ sim: answering(ok, [], 'sim'), http: answering(asked, [], 'http') });
    expect(await d.deliver(delivery('http://127.0.0.1:1/a', 0, '10'))).toEqual(asked);
    expect(await d.deliver(delivery('sim://a', 0, '10'))).toEqual(ok);
  });
});
