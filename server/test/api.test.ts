import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectEvents, startApp, type Running } from './helpers';

let server: Running;
afterEach(async () => server?.close());

function publish(
  base: string,
  destination: string,
  headers: Record<string, string> = {},
  body?: string,
) {
  return fetch(`${base}/v2/publish/${destination}`, { method: 'POST', headers, body });
}

describe('the walking skeleton API', () => {
  beforeEach(async () => {
    server = await startApp();
  });

  it('delivers a burst to a simulated destination under the key parallelism', async () => {
    const done = collectEvents(server.app, (e) => e.type === 'message:delivered', 5);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await publish(server.base, 'sim://work?duration=1s', {
        'Upstash-Flow-Control-Key': 'burst',
        'Upstash-Flow-Control-Value': 'parallelism=2',
      });
      expect(res.status).toBe(200);
      ids.push(((await res.json()) as { messageId: string }).messageId);
    }
    const info = await (await fetch(`${server.base}/v2/flowControl/burst`)).json();
    expect(info).toMatchObject({
      flowControlKey: 'burst',
      parallelismMax: 2,
      parallelismCount: 2,
      waitListSize: 3,
    });
    expect(Object.keys(info)).toHaveLength(11);
    const delivered = await done;
    expect(delivered.map((e) => (e as { messageId: string }).messageId).sort()).toEqual(
      [...ids].sort(),
    );
  });

  it('keeps the destination query string and answers unknown keys with 404', async () => {
    const res = await publish(server.base, 'sim://work?duration=10ms&jitter=0ms');
    expect(res.status).toBe(200);
    const missing = await fetch(`${server.base}/v2/flowControl/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'flow-control key "nope" not found' });
  });

  it('pauses, pins and resets a key through the management endpoints', async () => {
    const post = (path: string) =>
      fetch(`${server.base}/v2/flowControl/${path}`, { method: 'POST' });
    expect((await post('a/b/pause')).status).toBe(200);
    expect((await post('a/b/pin?parallelism=3&rate=20&period=120')).status).toBe(200);
    const info = await (await fetch(`${server.base}/v2/flowControl/a/b`)).json();
    expect(info).toMatchObject({
      isPaused: true,
      parallelismMax: 3,
      rateMax: 20,
      ratePeriod: 120,
      isPinnedParallelism: true,
      isPinnedRate: true,
    });
    expect((await post('a/b/unpin?parallelism=true')).status).toBe(200);
    expect((await post('a/b/resetRate')).status).toBe(200);
    expect((await post('a/b/resume')).status).toBe(200);
    const after = await (await fetch(`${server.base}/v2/flowControl/a/b`)).json();
    expect(after).toMatchObject({
      isPaused: false,
      isPinnedParallelism: false,
      isPinnedRate: true,
    });
    const list = await (await fetch(`${server.base}/v2/flowControl?search=A/`)).json();
    expect(list.map((k: { flowControlKey: string }) => k.flowControlKey)).toEqual(['a/b']);
    expect(await (await fetch(`${server.base}/v2/globalParallelism`)).json()).toMatchObject({
      parallelismMax: 0,
      parallelismCount: 0,
    });
  });

  it.each([
    // A bare name like "nowhere" would be a URL group's (404 when unknown, see url-groups.test.ts).
    ['not a url', 'nowhere/x', {}],
    ['ftp destination', 'ftp://example.com/x', {}],
    ['bad sim spec', 'sim://work?fail=2', {}],
    ['key without value', 'sim://work', { 'Upstash-Flow-Control-Key': 'k' }],
    [
      'bad value',
      'sim://work',
      { 'Upstash-Flow-Control-Key': 'k', 'Upstash-Flow-Control-Value': 'parallelism=0' },
    ],
    ['bad method', 'sim://work', { 'Upstash-Method': 'BREW' }],
    ['bad retries', 'sim://work', { 'Upstash-Retries': '-1' }],
    ['bad delay', 'sim://work', { 'Upstash-Delay': 'later' }],
  ])('refuses %s with a 400 and changes nothing', async (_name, destination, headers) => {
    const res = await publish(server.base, destination, headers);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/\w/);
    expect((await server.app.controller.snapshot()).engine.stats.accepted).toBe(0);
    expect((await server.app.controller.keys()).map((k) => k.key)).toEqual([]);
  });

  it('refuses bad pin values', async () => {
    const res = await fetch(`${server.base}/v2/flowControl/k/pin?parallelism=zero`, {
      method: 'POST',
    });
    expect(res.status).toBe(400);
    expect((await server.app.controller.keys()).map((k) => k.key)).toEqual([]);
  });
});

describe('with a token configured', () => {
  beforeEach(async () => {
    server = await startApp({ token: 's3cret' });
  });

  it('answers 401 without it and 200 with it', async () => {
    expect((await fetch(`${server.base}/v2/flowControl`)).status).toBe(401);
    const ok = await fetch(`${server.base}/v2/flowControl`, {
      headers: { Authorization: 'Bearer s3cret' },
    });
    expect(ok.status).toBe(200);
    expect((await fetch(`${server.base}/v2/flowControl?qstash_token=s3cret`)).status).toBe(200);
    // The dashboard itself is not an API call: only /v2 needs the token.
    expect((await fetch(`${server.base}/?token=s3cret`)).status).not.toBe(401);
    expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
  });
});

describe('socket authentication', () => {
  it('refuses a socket without the configured token and accepts one with it', async () => {
    const { io } = await import('socket.io-client');
    server = await startApp({ token: 's3cret' });
    const refused = io(server.base, { transports: ['websocket'], reconnection: false });
    const error = await new Promise<Error>((resolve) => refused.on('connect_error', resolve));
    expect(error.message).toBe('unauthorized');
    refused.close();
    const accepted = io(server.base, {
      transports: ['websocket'],
      reconnection: false,
      auth: { token: 's3cret' },
    });
    const snapshot = await new Promise<{ seq: number }>((resolve) =>
      accepted.on('snapshot', resolve),
    );
    expect(snapshot.seq).toBe(0);
    accepted.close();
  });
});

describe('enqueue', () => {
  it('accepts /v2/enqueue/{queue}/{destination} like a publish', async () => {
    server = await startApp();
    const res = await fetch(`${server.base}/v2/enqueue/my-queue/sim://w?duration=5ms`, {
      method: 'POST',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toHaveProperty('messageId');
  });
});
