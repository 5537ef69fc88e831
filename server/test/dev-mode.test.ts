import { afterEach, describe, expect, it } from 'vitest';
import { Client, Receiver } from '@upstash/qstash';
import { collectEvents, startApp, type Running } from './helpers';
import { startDestination } from './destination';

let server: Running;
let dest: Awaited<ReturnType<typeof startDestination>>;
afterEach(async () => {
  delete process.env.QSTASH_DEV_PORT;
  await server?.close();
  await dest?.close();
});

describe("the official client's dev mode", () => {
  it('finds Baton by its signing keys and publishes through it with no other configuration', async () => {
    server = await startApp();
    dest = await startDestination();
    // QSTASH_DEV=1 means http://127.0.0.1:8080; the port variable points the same probe at this test's server.
    process.env.QSTASH_DEV_PORT = new URL(server.base).port;
    const client = new Client({ devMode: true });
    const delivered = collectEvents(server.app, (e) => e.type === 'message:delivered', 1);
    const { messageId } = await client.publishJSON({
      url: `${dest.url}/dev`,
      body: { dev: true },
      flowControl: { key: 'dev-mode', parallelism: 1 },
    });
    await delivered;
    const r = dest.received[0]!;
    expect(r.headers['upstash-message-id']).toBe(messageId);
    const receiver = new Receiver({ devMode: true });
    await expect(
      receiver.verify({
        signature: r.headers['upstash-signature'] as string,
        body: r.body,
        url: `${dest.url}/dev`,
      }),
    ).resolves.toBe(true);
  });
});
