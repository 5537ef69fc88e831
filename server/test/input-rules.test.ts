import { afterEach, describe, expect, it } from 'vitest';
import { collectEvents, startApp, type Running } from './helpers';

let baton: Running;
afterEach(async () => baton?.close());

async function call(method: string, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${baton.base}${path}`, { method, headers });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

const publish = (headers: Record<string, string>) =>
  call('POST', '/v2/publish/http://127.0.0.1:9/x', headers);

describe('every input is checked once, the same way', () => {
  it.each([
    [
      { 'Upstash-Callback': 'http://127.0.0.1:9/cb', 'Upstash-Callback-Retries': 'abc' },
      'Upstash-Callback-Retries',
    ],
    [
      {
        'Upstash-Failure-Callback': 'http://127.0.0.1:9/f',
        'Upstash-Failure-Callback-Delay': 'zz',
      },
      'Upstash-Failure-Callback-Delay',
    ],
    [
      {
        'Upstash-Callback': 'http://127.0.0.1:9/cb',
        'Upstash-Callback-Flow-Control-Key': 'k',
        'Upstash-Callback-Flow-Control-Value': 'parallelism=zero',
      },
      'Upstash-Callback-Flow-Control-Value',
    ],
  ])('refuses a callback whose own headers are bad: %j', async (headers, named) => {
    baton = await startApp();
    const r = await publish(headers);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ error: expect.stringContaining(named) });
    expect((await baton.app.controller.snapshot()).engine.stats.accepted).toBe(0);
  });

  it.each(['Host', 'Content-Length', 'Transfer-Encoding', 'Expect', 'Connection', 'Upgrade'])(
    'refuses Upstash-Forward-%s, which would break or redirect the delivery',
    async (name) => {
      baton = await startApp();
      const r = await publish({
        [`Upstash-Forward-${name}`]: name === 'Content-Length' ? '5' : 'x',
      });
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ error: expect.stringContaining('cannot be forwarded') });
      expect((await baton.app.controller.snapshot()).engine.stats.accepted).toBe(0);
    },
  );

  it('applies the publish key rule to the management endpoints: no huge keys, no control characters', async () => {
    baton = await startApp();
    for (const key of ['k'.repeat(10_000), 'a%0Ab', 'tab%09key', '%C2%85']) {
      const r = await call('POST', `/v2/flowControl/${key}/pause`);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ error: expect.stringMatching(/flow-control key/) });
    }
    expect(await call('GET', '/v2/flowControl')).toEqual({ status: 200, body: [] });
  });

  it('reads a UTF-8 key as UTF-8, from a header and from a path', async () => {
    baton = await startApp();
    // fetch sends header strings as Latin-1 bytes: these are the UTF-8 bytes of "café".
    const utf8Bytes = Buffer.from('café').toString('latin1');
    const r = await call('POST', '/v2/publish/sim://x?duration=30s', {
      'Upstash-Flow-Control-Key': utf8Bytes,
      'Upstash-Flow-Control-Value': 'parallelism=1',
    });
    expect(r.status).toBe(200);
    const info = await call('GET', `/v2/flowControl/${encodeURIComponent('café')}`);
    expect(info).toMatchObject({ status: 200, body: { flowControlKey: 'café' } });
  });
});

describe('bulk calls act on exactly what they name', () => {
  async function pending(
    n: number,
    key: string,
    extra: Record<string, string> = {},
    dest = 'sim://x',
  ) {
    for (let i = 0; i < n; i++) {
      await call('POST', `/v2/publish/${dest}?duration=30s`, {
        'Upstash-Flow-Control-Key': key,
        'Upstash-Flow-Control-Value': 'parallelism=1',
        ...extra,
      });
    }
  }
  const live = async () => {
    const { stats } = (await baton.app.controller.snapshot(0)).engine;
    return stats.accepted - stats.cancelled;
  };

  it('refuses a filter it does not know, or cannot apply, and cancels nothing', async () => {
    baton = await startApp();
    await pending(3, 'k');
    for (const q of ['host=example.org&count=1&bogus=1', 'callerIp=1.2.3.4', 'count=x', '']) {
      const r = await call('DELETE', `/v2/messages?${q}`);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ error: expect.any(String) });
    }
    expect(await live()).toBe(3);
  });

  it('honours each filter, and count', async () => {
    baton = await startApp();
    await pending(2, 'a', { 'Upstash-Label': 'red' });
    await pending(2, 'b', { 'Upstash-Label': 'blue' }, 'sim://hostb/p');
    await pending(2, 'c');
    expect(await call('DELETE', '/v2/messages?host=example.org&count=1')).toMatchObject({
      body: { cancelled: 0 },
    });
    expect(await call('DELETE', '/v2/messages?label=red&count=1')).toMatchObject({
      body: { cancelled: 1 },
    });
    expect(await call('DELETE', '/v2/messages?host=hostb&path=/p')).toMatchObject({
      body: { cancelled: 1 },
    });
    // Key a's other message and key c's: what is in flight (the first of each key) runs to its end.
    expect(await call('DELETE', '/v2/messages?flowControlKey=a&flowControlKey=c')).toMatchObject({
      body: { cancelled: 1 },
    });
    expect(await live()).toBe(3);
  });

  it('deletes dead letters by filter only, and all only by name', async () => {
    baton = await startApp();
    const dead = collectEvents(baton.app, (e) => e.type === 'message:dead-lettered', 3);
    for (const key of ['x', 'x', 'y']) {
      await call('POST', '/v2/publish/sim://fail?duration=1ms&fail=1', {
        'Upstash-Retries': '0',
        'Upstash-Flow-Control-Key': key,
        'Upstash-Flow-Control-Value': 'parallelism=5',
      });
    }
    await dead;
    expect(await call('DELETE', '/v2/dlq')).toMatchObject({ status: 400 });
    expect(await call('DELETE', '/v2/dlq?flowControlKey=y')).toMatchObject({
      body: { deleted: 1 },
    });
    expect(await call('DELETE', '/v2/dlq?all=true')).toMatchObject({ body: { deleted: 2 } });
  });
});

describe('Upstash-Redact-Fields', () => {
  it('hides the body and the named headers wherever a message is shown; delivery is whole', async () => {
    baton = await startApp();
    const r = await fetch(`${baton.base}/v2/publish/sim://x?duration=30s`, {
      method: 'POST',
      headers: {
        'Upstash-Redact-Fields': 'body, header[Authorization]',
        'Upstash-Forward-Authorization': 'Bearer secret',
        'Upstash-Forward-X-Visible': 'yes',
        'Upstash-Flow-Control-Key': 'r',
        'Upstash-Flow-Control-Value': 'parallelism=1',
      },
      body: 'card=4242',
    });
    const { messageId } = (await r.json()) as { messageId: string };
    const read = (await call('GET', `/v2/messages/${messageId}`)).body as {
      body: string;
      header: Record<string, string[]>;
    };
    expect(read.body).toBe('REDACTED');
    expect(read.header.authorization).toEqual(['REDACTED']);
    expect(read.header['x-visible']).toEqual(['yes']);
    const logs = JSON.stringify((await call('GET', '/v2/events')).body);
    expect(logs).not.toContain('secret');
    expect(logs).not.toContain('4242');
    expect(
      await call('POST', '/v2/publish/sim://x', { 'Upstash-Redact-Fields': 'bodies' }),
    ).toMatchObject({
      status: 400,
    });
  });
});
