import { afterEach, describe, expect, it } from 'vitest';
import { Client, Receiver } from '@upstash/qstash';
import type { EngineEvent } from '../../shared/events';
import { DEV_SIGNING_KEYS } from '../delivery/signature';
import { collectEvents, startApp, type Running } from './helpers';
import { startDestination } from './destination';

let server: Running;
let dest: Awaited<ReturnType<typeof startDestination>>;
afterEach(async () => {
  await server?.close();
  await dest?.close();
});

async function setup(delayMs: number) {
  server = await startApp();
  dest = await startDestination(() => ({ status: 200, delayMs }));
  return new Client({ baseUrl: server.base, token: 'any-token' });
}

const delivered = (n: number) =>
  collectEvents(server.app, (e) => e.type === 'message:delivered', n);

/** Arrivals per fixed window, counted from the window origin the server used for its first start. */
function perWindow(times: number[], origin: number, periodMs: number): number[] {
  const counts: number[] = [];
  for (const t of times) {
    const w = Math.floor((t - origin) / periodMs);
    counts[w] = (counts[w] ?? 0) + 1;
  }
  return counts.map((c) => c ?? 0);
}

describe('driven by the official @upstash/qstash client', () => {
  it('keeps a burst at the key parallelism, reaching it and never exceeding it', async () => {
    server = await startApp();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    dest = await startDestination(() => ({ status: 200, until: gate }));
    const client = new Client({ baseUrl: server.base, token: 'any-token' });
    const done = delivered(12);
    const ids = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        client.publishJSON({
          url: `${dest.url}/p`,
          body: { i },
          flowControl: { key: 'par', parallelism: 3 },
        }),
      ),
    );
    await dest.serving(3);
    // Mid-burst: the destination holds three requests, so the key must say 3 in flight and 9 waiting.
    expect(await client.flowControl.get('par')).toMatchObject({
      flowControlKey: 'par',
      parallelismMax: 3,
      parallelismCount: 3,
      waitListSize: 9,
      rateMax: 0,
      isPaused: false,
    });
    expect(dest.inFlight()).toBe(3);
    open();
    await done;
    expect(dest.maxInFlight()).toBe(3);
    expect(dest.received).toHaveLength(12);
    expect(new Set(dest.received.map((r) => r.headers['upstash-message-id']))).toEqual(
      new Set(ids.map((r) => r.messageId)),
    );
    const receiver = new Receiver({
      currentSigningKey: DEV_SIGNING_KEYS.current,
      nextSigningKey: DEV_SIGNING_KEYS.next,
    });
    for (const r of dest.received) {
      await receiver.verify({
        signature: r.headers['upstash-signature'] as string,
        body: r.body,
        url: `${dest.url}/p`,
      });
    }
  });

  it('never starts more than the rate in any window', async () => {
    const client = await setup(0);
    const starts: EngineEvent[] = [];
    server.app.controller.onEvents((evs) =>
      starts.push(
        ...evs.filter((e) => e.type === 'token:acquired' || e.type === 'token:handed-off'),
      ),
    );
    const done = delivered(9);
    for (let i = 0; i < 9; i++) {
      await client.publish({
        url: `${dest.url}/r`,
        body: String(i),
        flowControl: { key: 'rate', rate: 4, period: '1s' },
      });
    }
    await done;
    const origin = (starts[0] as { ratePeriodStart: number }).ratePeriodStart;
    const counts = perWindow(
      dest.received.map((r) => r.at),
      origin,
      1000,
    );
    expect(Math.max(...counts)).toBe(4);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(9);
    expect(counts.length).toBeGreaterThanOrEqual(3);
  });

  it('applies parallelism and rate together', async () => {
    const client = await setup(150);
    const starts: Array<{ ratePeriodStart?: number }> = [];
    server.app.controller.onEvents((evs) => {
      for (const e of evs)
        if (e.type === 'token:acquired' || e.type === 'token:handed-off') starts.push(e);
    });
    const done = delivered(8);
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        client.publish({
          url: `${dest.url}/b`,
          body: String(i),
          flowControl: { key: 'both', parallelism: 2, rate: 5, period: 1 },
        }),
      ),
    );
    await done;
    expect(dest.maxInFlight()).toBe(2);
    const counts = perWindow(
      dest.received.map((r) => r.at),
      starts[0]!.ratePeriodStart!,
      1000,
    );
    expect(Math.max(...counts)).toBeLessThanOrEqual(5);
  });

  it('stops deliveries on pause and restarts them on resume', async () => {
    const client = await setup(100);
    await client.flowControl.pause('pz');
    const done = delivered(4);
    for (let i = 0; i < 4; i++) {
      await client.publish({
        url: `${dest.url}/z`,
        body: String(i),
        flowControl: { key: 'pz', parallelism: 2 },
      });
    }
    const paused = await client.flowControl.get('pz');
    expect(paused).toMatchObject({ isPaused: true, waitListSize: 4, parallelismCount: 0 });
    // Absence can only be shown over time: nothing arrives while paused.
    await new Promise((r) => setTimeout(r, 250));
    expect(dest.received).toHaveLength(0);
    await client.flowControl.resume('pz');
    await done;
    expect(dest.received).toHaveLength(4);
    expect(dest.maxInFlight()).toBe(2);
  });

  it('lets a pin override what messages carry, and unpin keep the value', async () => {
    const client = await setup(50);
    await client.flowControl.pin('pin', { parallelism: 1 });
    const done = delivered(5);
    for (let i = 0; i < 5; i++) {
      await client.publish({
        url: `${dest.url}/n`,
        body: String(i),
        flowControl: { key: 'pin', parallelism: 5 },
      });
    }
    expect(await client.flowControl.get('pin')).toMatchObject({
      parallelismMax: 1,
      isPinnedParallelism: true,
    });
    await done;
    expect(dest.maxInFlight()).toBe(1);
    await client.flowControl.unpin('pin', { parallelism: true });
    expect(await client.flowControl.get('pin')).toMatchObject({
      parallelismMax: 1,
      isPinnedParallelism: false,
    });
    await client.flowControl.resetRate('pin');
    expect((await client.flowControl.getGlobalParallelism()).parallelismCount).toBe(0);
  });

  it('counts Upstash-Retried up on each retry', async () => {
    server = await startApp();
    let n = 0;
    dest = await startDestination(() =>
      n++ < 2 ? { status: 503, headers: { 'Retry-After': '0' } } : { status: 200 },
    );
    const client = new Client({ baseUrl: server.base, token: 'x' });
    const done = delivered(1);
    await client.publish({
      url: `${dest.url}/retry`,
      body: 'r',
      retries: 3,
      flowControl: { key: 'rt', parallelism: 1 },
    });
    await done;
    expect(dest.received.map((r) => r.headers['upstash-retried'])).toEqual(['0', '1', '2']);
  });

  it('reads batches, message state and cancels through the client', async () => {
    const client = await setup(2000);
    const res = await client.batchJSON([
      { url: `${dest.url}/1`, body: {}, flowControl: { key: 'bc', parallelism: 1 } },
      { url: `${dest.url}/2`, body: {}, flowControl: { key: 'bc', parallelism: 1 } },
    ]);
    expect(res).toHaveLength(2);
    const second = (res[1] as { messageId: string }).messageId;
    expect(await client.messages.get(second)).toMatchObject({ messageId: second });
    // The first is in flight (its attempt runs to its end); the waiting one is cancelled.
    expect(
      await client.messages.cancel({ filter: { flowControlKey: 'bc' } } as never),
    ).toMatchObject({ cancelled: 1 });
    expect((await client.flowControl.get('bc')).waitListSize).toBe(0);
  });
});
