import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@upstash/qstash';
import { deliveredUnder as deliveredTo, refusal, startApp, type Running } from './helpers';
import { startDestination } from './destination';

let server: Running;
let dest: Awaited<ReturnType<typeof startDestination>> | undefined;
/** Opens a gated destination's held requests, so a failed test still closes it. */
let release = () => {};
afterEach(async () => {
  release();
  await server?.close();
  await dest?.close();
  dest = undefined;
});

async function setup() {
  server = await startApp();
  return new Client({ baseUrl: server.base, token: 'any-token' });
}

/** Listens before publishing: a short simulated delivery can end before publish answers. */
const deliveredUnder = (key: string, n: number) => deliveredTo(server.app, key, n);

describe('queues, through the official client', () => {
  it('holds a queue at its parallelism, in order; pause stops starts and resume restarts them', async () => {
    const client = await setup();
    const gate = new Promise<void>((resolve) => (release = resolve));
    dest = await startDestination(() => ({ status: 200, until: gate }));
    const queue = client.queue({ queueName: 'q' });
    const before = Date.now();
    await queue.upsert({ parallelism: 2 });

    const starts: string[] = [];
    server.app.controller.onEvents((evs) => {
      for (const e of evs) {
        if (e.key !== 'queue:q') continue;
        if (e.type === 'token:acquired') starts.push(e.messageId);
        if (e.type === 'token:handed-off') starts.push(e.to);
      }
    });
    const firstTwo = deliveredUnder('queue:q', 2);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      // The client's enqueueJSON: POST /v2/enqueue/q/{destination}.
      ids.push((await queue.enqueueJSON({ url: `${dest.url}/job`, body: { i } })).messageId);
    }
    await dest.serving(2);
    expect(await client.flowControl.get('queue:q')).toMatchObject({
      flowControlKey: 'queue:q',
      parallelismMax: 2,
      parallelismCount: 2,
      waitListSize: 3,
      isPinnedParallelism: true,
      isPaused: false,
    });
    const got = await queue.get();
    expect(got).toEqual({
      name: 'q',
      createdAt: expect.any(Number),
      updatedAt: expect.any(Number),
      parallelism: 2,
      lag: 3,
      paused: false,
    });
    expect(got.createdAt).toBeGreaterThanOrEqual(before);
    expect(await queue.list()).toEqual([got]);
    expect(await client.messages.get(ids[4]!)).toMatchObject({ flowControlKey: 'queue:q' });

    // Paused: the two in flight finish, and nothing new starts.
    await queue.pause();
    expect(await queue.get()).toMatchObject({ paused: true, lag: 3 });
    expect(await client.flowControl.get('queue:q')).toMatchObject({ isPaused: true });
    release();
    await firstTwo;
    expect(await client.flowControl.get('queue:q')).toMatchObject({
      parallelismCount: 0,
      waitListSize: 3,
    });
    expect(starts).toEqual(ids.slice(0, 2));

    const rest = deliveredUnder('queue:q', 3);
    await queue.resume();
    await rest;
    expect(await queue.get()).toMatchObject({ paused: false, lag: 0, parallelism: 2 });
    // First in, first started; never more than two at once.
    expect(starts).toEqual(ids);
    expect(dest.maxInFlight()).toBe(2);
    expect(dest.received.map((r) => JSON.parse(r.body))).toEqual(
      [0, 1, 2, 3, 4].map((i) => ({ i })),
    );
  });

  it("keeps a message's own flow-control key, and a message cannot change the queue's parallelism", async () => {
    const client = await setup();
    const queue = client.queue({ queueName: 'mixed' });
    await queue.upsert({ parallelism: 3 });
    const own = deliveredUnder('own', 1);
    const queued = deliveredUnder('queue:mixed', 2);
    const a = await queue.enqueueJSON({
      url: 'sim://own?duration=1ms',
      body: { own: true },
      flowControl: { key: 'own', parallelism: 5 },
    });
    const b = await queue.enqueue({ url: 'sim://plain?duration=1ms', body: 'plain' });
    // A plain publish under the queue's key cannot lower the pinned parallelism.
    await client.publish({
      url: 'sim://plain?duration=1ms',
      body: 'x',
      flowControl: { key: 'queue:mixed', parallelism: 1 },
    });
    await Promise.all([own, queued]);
    expect(await client.messages.get(a.messageId)).toMatchObject({ flowControlKey: 'own' });
    expect(await client.messages.get(b.messageId)).toMatchObject({ flowControlKey: 'queue:mixed' });
    expect(await client.flowControl.get('own')).toMatchObject({ parallelismMax: 5 });
    expect(await client.flowControl.get('queue:mixed')).toMatchObject({
      parallelismMax: 3,
      isPinnedParallelism: true,
    });
    // The queue is not changed by a message that waited elsewhere.
    expect(await queue.get()).toMatchObject({ parallelism: 3, lag: 0 });
  });

  it('creates a queue enqueued to before any upsert (parallelism 1), and fans a URL group out under it', async () => {
    const client = await setup();
    await client.urlGroups.addEndpoints({
      name: 'team',
      endpoints: [{ url: 'sim://a?duration=1ms' }, { url: 'sim://b?duration=1ms' }],
    });
    const done = deliveredUnder('queue:auto', 2);
    const res = await fetch(`${server.base}/v2/enqueue/auto/team`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(200);
    const answers = (await res.json()) as Array<{ messageId: string; url: string }>;
    expect(answers.map((r) => r.url)).toEqual(['sim://a?duration=1ms', 'sim://b?duration=1ms']);
    await done;
    expect(await client.queue({ queueName: 'auto' }).get()).toMatchObject({
      name: 'auto',
      parallelism: 1,
      paused: false,
      lag: 0,
    });
    expect(await client.flowControl.get('queue:auto')).toMatchObject({
      parallelismMax: 1,
      isPinnedParallelism: true,
    });
    for (const a of answers) {
      expect(await client.messages.get(a.messageId)).toMatchObject({
        flowControlKey: 'queue:auto',
        urlGroup: 'team',
      });
    }
  });

  it('deletes a queue: its key is unpinned and a paused queue’s messages go on', async () => {
    const client = await setup();
    const queue = client.queue({ queueName: 'gone' });
    await queue.upsert({ parallelism: 1, paused: true });
    expect(await queue.get()).toMatchObject({ paused: true });
    await queue.enqueue({ url: 'sim://g?duration=1ms', body: '1' });
    await queue.enqueue({ url: 'sim://g?duration=1ms', body: '2' });
    expect(await queue.get()).toMatchObject({ lag: 2 });
    const done = deliveredUnder('queue:gone', 2);
    await queue.delete();
    await done;
    expect(await client.flowControl.get('queue:gone')).toMatchObject({
      isPinnedParallelism: false,
      isPaused: false,
    });
    expect(await queue.list()).toEqual([]);
    const missing = await refusal(queue.get());
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.message)).toEqual({ error: 'queue "gone" not found' });
  });

  it('answers 404 for an unknown queue and 400 for bad input, changing nothing', async () => {
    const client = await setup();
    const nope = client.queue({ queueName: 'nope' });
    for (const call of [nope.get(), nope.delete(), nope.pause(), nope.resume()]) {
      expect((await refusal(call)).status).toBe(404);
    }

    for (const parallelism of [0, -1, 1.5]) {
      const bad = await refusal(client.queue({ queueName: 'q' }).upsert({ parallelism }));
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.message)).toEqual({
        error: `parallelism must be a whole number ≥ 1, got ${parallelism}`,
      });
    }
    const badName = await refusal(client.queue({ queueName: 'no*stars' }).upsert({}));
    expect(badName.status).toBe(400);
    expect(JSON.parse(badName.message).error).toMatch(/queue name "no\*stars" is not valid/);

    const post = (path: string, body?: string) =>
      fetch(`${server.base}${path}`, { method: 'POST', body });
    for (const body of [
      '',
      'not json',
      '[]',
      '{"queueName": 1}',
      '{"queueName": "q", "parallelism": "2"}',
      '{"queueName": "q", "paused": "no"}',
    ]) {
      const res = await post('/v2/queues', body);
      expect(res.status).toBe(400);
      expect(typeof ((await res.json()) as { error: unknown }).error).toBe('string');
    }
    // A bad queue name or a bad header on enqueue creates no queue and accepts no message.
    const badQueue = await post('/v2/enqueue/bad*name/sim://x', 'x');
    expect(badQueue.status).toBe(400);
    expect(await badQueue.json()).toEqual({
      error: expect.stringMatching(/queue name "bad\*name" is not valid/),
    });
    const badHeader = await fetch(`${server.base}/v2/enqueue/fresh/sim://x`, {
      method: 'POST',
      headers: { 'Upstash-Retries': 'lots' },
    });
    expect(badHeader.status).toBe(400);
    expect(await nope.list()).toEqual([]);
    expect((await server.app.controller.snapshot()).engine.stats.accepted).toBe(0);
    expect((await server.app.controller.keys()).map((k) => k.key)).toEqual([]);

    // `POST /v2/queues/` (with the slash) upserts too; other methods and paths do not route.
    expect((await post('/v2/queues/', '{"queueName": "slash", "parallelism": 2}')).status).toBe(
      200,
    );
    expect(await client.queue({ queueName: 'slash' }).get()).toMatchObject({ parallelism: 2 });
    expect((await fetch(`${server.base}/v2/queues/slash`, { method: 'PUT' })).status).toBe(404);
    expect((await fetch(`${server.base}/v2/queues/slash/pause`)).status).toBe(404);
  });
});
