import { afterEach, describe, expect, it } from 'vitest';
import { Receiver } from '@upstash/qstash';
import { DEV_SIGNING_KEYS } from '../delivery/signature';
import { collectEvents, startApp, type Running } from './helpers';
import { startDestination } from './destination';

let server: Running;
let dest: Awaited<ReturnType<typeof startDestination>>;
afterEach(async () => {
  await server?.close();
  await dest?.close();
});

const receiver = new Receiver({
  currentSigningKey: DEV_SIGNING_KEYS.current,
  nextSigningKey: DEV_SIGNING_KEYS.next,
});

describe('delivery to a real HTTP destination', () => {
  it('sends the method, body, forwarded headers and a signature the official Receiver verifies', async () => {
    server = await startApp();
    dest = await startDestination();
    const done = collectEvents(server.app, (e) => e.type === 'message:delivered', 1);
    const res = await fetch(`${server.base}/v2/publish/${dest.url}/hook?x=1&y=two`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'upstash-method': 'PUT',
        'upstash-forward-x-custom': 'abc',
        'upstash-flow-control-key': 'http-key',
        'upstash-flow-control-value': 'parallelism=1',
      },
      body: JSON.stringify({ hello: 'world' }),
    });
    const { messageId } = (await res.json()) as { messageId: string };
    await done;
    const r = dest.received[0]!;
    expect(r.method).toBe('PUT');
    expect(r.path).toBe('/hook?x=1&y=two');
    expect(r.body).toBe('{"hello":"world"}');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['x-custom']).toBe('abc');
    expect(r.headers['upstash-message-id']).toBe(messageId);
    expect(r.headers['upstash-retried']).toBe('0');
    expect(r.headers['user-agent']).toBe('Upstash-QStash');
    await expect(
      receiver.verify({
        signature: r.headers['upstash-signature'] as string,
        body: r.body,
        url: `${dest.url}/hook?x=1&y=two`,
      }),
    ).resolves.toBe(true);
  });

  it('retries with the retry-delay expression, counting Upstash-Retried up, then dead-letters', async () => {
    server = await startApp();
    dest = await startDestination(() => ({ status: 500, body: 'nope' }));
    const dead = collectEvents(server.app, (e) => e.type === 'message:dead-lettered', 1);
    await fetch(`${server.base}/v2/publish/${dest.url}/fail`, {
      method: 'POST',
      headers: { 'upstash-retries': '2', 'upstash-retry-delay': '10 * (retried + 1)' },
      body: 'x',
    });
    const [e] = await dead;
    expect(dest.received.map((r) => r.headers['upstash-retried'])).toEqual(['0', '1', '2']);
    expect(e).toMatchObject({ reason: '3 attempts failed: status 500' });
  });

  it('fails at once on 489 with Upstash-NonRetryable-Error', async () => {
    server = await startApp();
    dest = await startDestination(() => ({
      status: 489,
      headers: { 'Upstash-NonRetryable-Error': 'true' },
    }));
    const dead = collectEvents(server.app, (e) => e.type === 'message:dead-lettered', 1);
    await fetch(`${server.base}/v2/publish/${dest.url}/x`, { method: 'POST', body: 'x' });
    await dead;
    expect(dest.received).toHaveLength(1);
  });

  it('honours Retry-After from the destination', async () => {
    server = await startApp();
    let calls = 0;
    dest = await startDestination(() =>
      calls++ === 0 ? { status: 429, headers: { 'Retry-After': '0.05' } } : { status: 200 },
    );
    const failed = collectEvents(server.app, (e) => e.type === 'delivery:failed', 1);
    const delivered = collectEvents(server.app, (e) => e.type === 'message:delivered', 1);
    await fetch(`${server.base}/v2/publish/${dest.url}/x`, { method: 'POST', body: 'x' });
    const [f] = await failed;
    expect(f).toMatchObject({ status: 429 });
    const failure = f as { at: number; retryAt: number };
    expect(failure.retryAt - failure.at).toBe(50);
    await delivered;
  });

  it('holds the token until the timeout and counts a timeout as a failure', async () => {
    server = await startApp();
    dest = await startDestination(() => ({ status: 200, delayMs: 1500 }));
    const failed = collectEvents(server.app, (e) => e.type === 'delivery:failed', 1);
    await fetch(`${server.base}/v2/publish/${dest.url}/slow`, {
      method: 'POST',
      headers: { 'upstash-timeout': '1s', 'upstash-retries': '0' },
      body: 'x',
    });
    const [f] = await failed;
    expect((f as { error: string }).error).toMatch(/timed out after 1000 ms/);
  });

  it('answers GET /v2/keys with the development signing keys', async () => {
    server = await startApp();
    expect(await (await fetch(`${server.base}/v2/keys`)).json()).toEqual(DEV_SIGNING_KEYS);
  });
});
