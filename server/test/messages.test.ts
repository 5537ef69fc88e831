import { afterEach, describe, expect, it } from 'vitest';
import { collectEvents, startApp, type Running } from './helpers';
import { startDestination } from './destination';

let server: Running;
let dest: Awaited<ReturnType<typeof startDestination>> | undefined;
afterEach(async () => {
  await server?.close();
  await dest?.close();
  dest = undefined;
});

const json = async (res: Response) =>
  (await res.json()) as Record<string, unknown> & Array<Record<string, unknown>>;

describe('batch', () => {
  it('accepts every item with lower-cased headers and answers one messageId each', async () => {
    server = await startApp();
    const res = await fetch(`${server.base}/v2/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          destination: 'sim://a?duration=5s',
          headers: {
            'upstash-flow-control-key': 'b',
            'upstash-flow-control-value': 'parallelism=1',
          },
        },
        {
          destination: 'sim://a?duration=5s',
          headers: {
            'Upstash-Flow-Control-Key': 'b',
            'Upstash-Flow-Control-Value': 'parallelism=1',
          },
          body: 'x',
        },
      ]),
    });
    expect(res.status).toBe(200);
    const items = await json(res);
    expect(items).toHaveLength(2);
    expect(items.every((i) => typeof i.messageId === 'string')).toBe(true);
    expect((await server.app.controller.key('b' as never))?.waitListSize).toBe(1);
  });

  it.each([
    ['not json', '{'],
    ['not an array', '{}'],
    ['an item without destination', '[{"headers":{}}]'],
    [
      'an item with a bad header value',
      '[{"destination":"sim://a"},{"destination":"sim://a","headers":{"upstash-flow-control-key":"k","upstash-flow-control-value":"rate=0"}}]',
    ],
  ])('refuses %s and accepts nothing', async (_name, body) => {
    server = await startApp();
    const res = await fetch(`${server.base}/v2/batch`, { method: 'POST', body });
    expect(res.status).toBe(400);
    expect(typeof (await json(res)).error).toBe('string');
    expect((await server.app.controller.snapshot()).engine.stats.accepted).toBe(0);
  });
});

describe('deduplication', () => {
  it('answers the first message id with deduplicated for a repeated id', async () => {
    server = await startApp();
    const send = () =>
      fetch(`${server.base}/v2/publish/sim://a?duration=10ms`, {
        method: 'POST',
        headers: { 'upstash-deduplication-id': 'once' },
      });
    const first = await json(await send());
    const second = await json(await send());
    expect(second).toEqual({ messageId: first.messageId, deduplicated: true });
    expect((await server.app.controller.snapshot()).engine.stats.accepted).toBe(1);
  });

  it('deduplicates by content when asked', async () => {
    server = await startApp();
    const send = (body: string) =>
      fetch(`${server.base}/v2/publish/sim://a?duration=10ms`, {
        method: 'POST',
        headers: { 'upstash-content-based-deduplication': 'True' },
        body,
      });
    const a = await json(await send('same'));
    expect((await json(await send('same'))).deduplicated).toBe(true);
    expect((await json(await send('other'))).messageId).not.toBe(a.messageId);
  });
});

describe('reading and cancelling messages', () => {
  it('reports a message state and cancels waiting ones by id and by key', async () => {
    server = await startApp();
    const publish = async () =>
      (
        await json(
          await fetch(`${server.base}/v2/publish/sim://a?duration=5s`, {
            method: 'POST',
            headers: {
              'upstash-flow-control-key': 'c',
              'upstash-flow-control-value': 'parallelism=1',
            },
          }),
        )
      ).messageId as string;
    const [a, b, c, d] = [await publish(), await publish(), await publish(), await publish()];
    expect(await json(await fetch(`${server.base}/v2/messages/${a}`))).toMatchObject({
      state: 'in-flight',
      flowControlKey: 'c',
    });
    expect(await json(await fetch(`${server.base}/v2/messages/${b}`))).toMatchObject({
      state: 'waiting',
    });
    expect(
      await json(await fetch(`${server.base}/v2/messages/${b}`, { method: 'DELETE' })),
    ).toEqual({ cancelled: 1 });
    expect(await json(await fetch(`${server.base}/v2/messages/${b}`))).toMatchObject({
      state: 'cancelled',
    });
    expect((await fetch(`${server.base}/v2/messages/${b}`, { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(`${server.base}/v2/messages/msg_nope`)).status).toBe(404);
    const bulk = await json(
      await fetch(`${server.base}/v2/messages?flowControlKey=c&count=100`, { method: 'DELETE' }),
    );
    // a is in flight: its attempt runs to its end; the bulk cancel takes c and d.
    expect(bulk).toEqual({ cancelled: 2 });
    for (const id of [c, d])
      expect(await json(await fetch(`${server.base}/v2/messages/${id}`))).toMatchObject({
        state: 'cancelled',
      });
    const info = await json(await fetch(`${server.base}/v2/flowControl/c`));
    expect(info.waitListSize).toBe(0);
  });
});

describe('dead letters', () => {
  it('lists exhausted messages by key and deletes them', async () => {
    server = await startApp();
    const dead = collectEvents(server.app, (e) => e.type === 'message:dead-lettered', 1);
    await fetch(`${server.base}/v2/publish/sim://a?duration=5ms&fail=1`, {
      method: 'POST',
      headers: {
        'upstash-retries': '0',
        'upstash-flow-control-key': 'd',
        'upstash-flow-control-value': 'rate=5',
      },
    });
    await dead;
    const list = await json(await fetch(`${server.base}/v2/dlq?flowControlKey=d`));
    const messages = list.messages as Array<{ dlqId: string; responseStatus: number }>;
    expect(messages).toHaveLength(1);
    expect(messages[0]!.responseStatus).toBe(500);
    expect(
      (await json(await fetch(`${server.base}/v2/dlq?flowControlKey=other`))).messages,
    ).toEqual([]);
    expect(
      (await fetch(`${server.base}/v2/dlq/${messages[0]!.dlqId}`, { method: 'DELETE' })).status,
    ).toBe(200);
    expect((await json(await fetch(`${server.base}/v2/dlq`))).messages).toEqual([]);
  });
});

describe('callbacks', () => {
  it('publishes the callback with the response, and the failure callback after the last retry', async () => {
    server = await startApp();
    dest = await startDestination((r) =>
      r.path.startsWith('/fail') ? { status: 500, body: 'broken' } : { status: 201, body: 'made' },
    );
    const both = dest.answered(4);
    await fetch(`${server.base}/v2/publish/${dest.url}/work`, {
      method: 'POST',
      headers: { 'upstash-callback': `${dest.url}/cb`, 'upstash-callback-forward-x-cb': 'yes' },
      body: 'w',
    });
    await fetch(`${server.base}/v2/publish/${dest.url}/fail`, {
      method: 'POST',
      headers: { 'upstash-retries': '0', 'upstash-failure-callback': `${dest.url}/failed` },
      body: 'f',
    });
    await both;
    const cb = dest.received.find((r) => r.path === '/cb')!;
    const cbBody = JSON.parse(cb.body) as { status: number; body: string; sourceMessageId: string };
    expect(cb.headers['x-cb']).toBe('yes');
    expect(cbBody.status).toBe(201);
    expect(Buffer.from(cbBody.body, 'base64').toString()).toBe('made');
    const failed = dest.received.find((r) => r.path === '/failed')!;
    const failedBody = JSON.parse(failed.body) as { status: number; body: string; dlqId: string };
    expect(failedBody.status).toBe(500);
    expect(Buffer.from(failedBody.body, 'base64').toString()).toBe('broken');
    expect(failedBody.dlqId).toMatch(/^dlq_/);
  });
});

describe('workflow runs', () => {
  it('applies the run flow control to later steps and deduplicates the run id', async () => {
    server = await startApp();
    const trigger = () =>
      fetch(`${server.base}/v2/batch`, {
        method: 'POST',
        body: JSON.stringify([
          {
            destination: 'sim://wf?duration=5s',
            headers: {
              'upstash-workflow-init': 'true',
              'upstash-workflow-runid': 'wfr_1',
              'upstash-flow-control-key': 'wf-key',
              'upstash-flow-control-value': 'parallelism=1',
            },
          },
        ]),
      });
    expect((await json(await trigger()))[0]).not.toHaveProperty('deduplicated');
    expect((await json(await trigger()))[0]).toMatchObject({ deduplicated: true });
    const step = await json(
      await fetch(`${server.base}/v2/publish/sim://wf?duration=5s`, {
        method: 'POST',
        headers: { 'upstash-workflow-runid': 'wfr_1' },
        body: JSON.stringify({
          stepId: 1,
          stepName: 'a',
          stepType: 'Run',
          concurrent: 1,
          out: '1',
        }),
      }),
    );
    expect(
      await json(await fetch(`${server.base}/v2/messages/${step.messageId as string}`)),
    ).toMatchObject({
      flowControlKey: 'wf-key',
      state: 'waiting',
    });
  });
});
