/**
 * URL groups and queues on several servers sharing one Redis: whichever server a group or a
 * queue was made on, every server knows it, publishes to it and obeys it, concurrent changes on
 * two servers all land, and a restart of every server loses none of them.
 */
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import type { EngineEvent } from '../../shared/events';
import { testRedisUrl } from '../store/contract/test-redis-url';
import { deletePrefix, testPrefix } from '../store/redis/testing';
import { collectEvents, startRedisApp, type Running } from './helpers';

const open = new Set<Running>();
afterEach(async () => {
  for (const s of open) await s.close();
  open.clear();
});

/** A Baton server on the deployment `prefix`, as main.ts builds one with `--redis`. */
async function server(prefix: string): Promise<Running> {
  const running = await startRedisApp(prefix);
  open.add(running);
  return running;
}

async function stop(s: Running): Promise<void> {
  open.delete(s);
  await s.close();
}

function deployment(what: string): string {
  const prefix = testPrefix(what);
  onTestFinished(() => deletePrefix(prefix, testRedisUrl()));
  return prefix;
}

/** One API call; the JSON body of the answer, if any. */
async function api(
  s: Running,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${s.base}${path}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

const addEndpoints = (
  s: Running,
  group: string,
  endpoints: Array<{ url: string; name?: string }>,
) => api(s, 'POST', `/v2/topics/${group}/endpoints`, { endpoints });

interface GroupView {
  name: string;
  endpoints: Array<{ url: string; name?: string }>;
}
interface QueueView {
  name: string;
  parallelism: number;
  paused: boolean;
  lag: number;
}

/** The most tokens of `key` held at once, counted from a server's events (every server's). */
function mostInFlight(events: readonly EngineEvent[], key: string): number {
  let inFlight = 0;
  let most = 0;
  for (const e of events) {
    if (e.key !== key) continue;
    if (e.type === 'token:acquired') inFlight++;
    if (e.type === 'token:released') inFlight--;
    most = Math.max(most, inFlight);
  }
  return most;
}

describe('URL groups and queues on two servers sharing one Redis', () => {
  it('knows on B a group made and extended on A, and B publishes one message per endpoint', async () => {
    const prefix = deployment('records-groups');
    const a = await server(prefix);
    const b = await server(prefix);
    expect(
      (await addEndpoints(a, 'team', [{ url: 'sim://one?duration=5ms', name: 'one' }])).status,
    ).toBe(200);
    expect((await addEndpoints(a, 'team', [{ url: 'sim://two?duration=5ms' }])).status).toBe(200);

    const listed = (await api(b, 'GET', '/v2/topics')).json as GroupView[];
    expect(listed.map((g) => [g.name, g.endpoints])).toEqual([
      ['team', [{ url: 'sim://one?duration=5ms', name: 'one' }, { url: 'sim://two?duration=5ms' }]],
    ]);
    expect((await api(b, 'GET', '/v2/topics/team')).json).toEqual(listed[0]);

    const delivered = collectEvents(b.app, (e) => e.type === 'message:delivered', 2);
    const published = await api(b, 'POST', '/v2/publish/team', 'hello');
    expect(published.status).toBe(200);
    const replies = published.json as Array<{ messageId: string; url: string }>;
    expect(replies.map((r) => r.url)).toEqual(['sim://one?duration=5ms', 'sim://two?duration=5ms']);
    const ids = (await delivered).map((e) => (e.type === 'message:delivered' ? e.messageId : ''));
    expect(new Set(ids)).toEqual(new Set(replies.map((r) => r.messageId)));

    // A batch on B reads the group too, and an item after it is checked while it is read.
    const batch = await api(b, 'POST', '/v2/batch', [
      { destination: 'team' },
      { destination: 'sim://solo?duration=5ms' },
    ]);
    expect(batch.status).toBe(200);
    const [group, solo] = batch.json as [Array<{ url: string }>, { messageId: string }];
    expect(group.map((r) => r.url)).toEqual(replies.map((r) => r.url));
    expect(solo.messageId).toEqual(expect.any(String));
    expect(
      await api(b, 'POST', '/v2/batch', [{ destination: 'team' }, { destination: 5 }]),
    ).toEqual({
      status: 400,
      json: { error: 'batch item 1: destination must be a string' },
    });
    expect(await api(b, 'POST', '/v2/batch', [{ destination: 'nope' }, {}])).toEqual({
      status: 404,
      json: { error: 'batch item 0: url group "nope" not found' },
    });

    // Removed on B, gone on A.
    expect(
      (await api(b, 'DELETE', '/v2/topics/team/endpoints', { endpoints: [{ name: 'one' }] }))
        .status,
    ).toBe(200);
    expect(((await api(a, 'GET', '/v2/topics/team')).json as GroupView).endpoints).toEqual([
      { url: 'sim://two?duration=5ms' },
    ]);
    expect((await api(b, 'DELETE', '/v2/topics/team')).status).toBe(200);
    expect((await api(a, 'GET', '/v2/topics/team')).status).toBe(404);
    expect((await api(a, 'POST', '/v2/publish/team', 'x')).status).toBe(404);
  });

  it('keeps every endpoint added at once on A and B', async () => {
    const prefix = deployment('records-race');
    const a = await server(prefix);
    const b = await server(prefix);
    const n = 12;
    const adds = Array.from({ length: n }, (_, i) => [
      addEndpoints(a, 'crowd', [{ url: `sim://a${i}` }]),
      addEndpoints(b, 'crowd', [{ url: `sim://b${i}`, name: `b${i}` }]),
    ]).flat();
    expect((await Promise.all(adds)).map((r) => r.status)).toEqual(Array(2 * n).fill(200));
    for (const s of [a, b]) {
      const group = (await api(s, 'GET', '/v2/topics/crowd')).json as GroupView;
      expect(group.endpoints).toHaveLength(2 * n);
      expect(new Set(group.endpoints.map((e) => e.url))).toEqual(
        new Set(Array.from({ length: n }, (_, i) => [`sim://a${i}`, `sim://b${i}`]).flat()),
      );
    }
  });

  it('lists on B a queue upserted on A, and B’s enqueues obey its parallelism and pause', async () => {
    const prefix = deployment('records-queues');
    const a = await server(prefix);
    const b = await server(prefix);
    const upsert = { queueName: 'jobs', parallelism: 2, paused: true };
    expect((await api(a, 'POST', '/v2/queues', upsert)).status).toBe(200);
    expect((await api(b, 'GET', '/v2/queues')).json).toEqual([
      expect.objectContaining({ name: 'jobs', parallelism: 2, paused: true, lag: 0 }),
    ]);

    const events: EngineEvent[] = [];
    a.app.controller.onEvents((batch) => events.push(...batch));
    const delivered = collectEvents(
      a.app,
      (e) => e.type === 'message:delivered' && e.key === 'queue:jobs',
      4,
    );
    for (let i = 0; i < 4; i++) {
      const r = await api(b, 'POST', '/v2/enqueue/jobs/sim://work?duration=200ms', { i });
      expect(r.status).toBe(200);
    }
    // Paused: all four wait, on either server's view.
    for (const s of [a, b]) {
      expect(((await api(s, 'GET', '/v2/queues/jobs')).json as QueueView).lag).toBe(4);
    }
    expect(events.filter((e) => e.type === 'token:acquired')).toEqual([]);

    expect((await api(a, 'POST', '/v2/queues/jobs/resume')).status).toBe(200);
    expect(((await api(b, 'GET', '/v2/queues/jobs')).json as QueueView).paused).toBe(false);
    await delivered;
    expect(mostInFlight(events, 'queue:jobs')).toBe(2);

    // A queue B makes on a first enqueue is A's to list and delete.
    const auto = collectEvents(
      a.app,
      (e) => e.type === 'message:delivered' && e.key === 'queue:auto',
      1,
    );
    expect((await api(b, 'POST', '/v2/enqueue/auto/sim://work?duration=5ms', 'x')).status).toBe(
      200,
    );
    await auto;
    expect(((await api(a, 'GET', '/v2/queues')).json as QueueView[]).map((q) => q.name)).toEqual([
      'jobs',
      'auto',
    ]);
    expect((await api(a, 'DELETE', '/v2/queues/auto')).status).toBe(200);
    expect((await api(b, 'GET', '/v2/queues/auto')).status).toBe(404);
  });

  it('keeps groups and queues when every server restarts', async () => {
    const prefix = deployment('records-restart');
    const a = await server(prefix);
    const b = await server(prefix);
    await addEndpoints(a, 'kept', [{ url: 'sim://one?duration=5ms' }]);
    await addEndpoints(b, 'kept', [{ url: 'sim://two?duration=5ms' }]);
    await api(b, 'POST', '/v2/queues', { queueName: 'held', parallelism: 3, paused: true });
    await stop(a);
    await stop(b);

    const c = await server(prefix);
    expect(
      ((await api(c, 'GET', '/v2/topics')).json as GroupView[]).map((g) => [
        g.name,
        g.endpoints.length,
      ]),
    ).toEqual([['kept', 2]]);
    expect((await api(c, 'GET', '/v2/queues')).json).toEqual([
      expect.objectContaining({ name: 'held', parallelism: 3, paused: true }),
    ]);
    const delivered = collectEvents(c.app, (e) => e.type === 'message:delivered', 2);
    const published = await api(c, 'POST', '/v2/publish/kept', 'again');
    expect(published.json).toHaveLength(2);
    await delivered;
  });
});
