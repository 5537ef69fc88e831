/**
 * The logs on Redis, as a user sees them through `GET /v2/events`: every server lists every
 * message's entries, whichever server took it in, the same way, and a restart of every server
 * keeps them.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { RedisDeliveryLogs } from '../store/redis/delivery-logs';
import { deletePrefix, testPrefix } from '../store/redis/testing';
import { testRedisUrl } from '../store/contract/test-redis-url';
import { collectEvents, publishUnder, startRedisApp, type Running } from './helpers';

interface Entry {
  messageId: string;
  state: string;
  url: string;
  body?: string;
  error?: string;
  label?: string;
  flowControlKey?: string;
}
interface Page {
  cursor?: string;
  events: Entry[];
}

async function server(prefix: string): Promise<Running & { logs: RedisDeliveryLogs }> {
  const running = await startRedisApp(prefix);
  onTestFinished(running.close);
  return { ...running, logs: running.redis.sharedLogs };
}

const publish = (base: string, destination: string, headers: Record<string, string> = {}) =>
  publishUnder(base, 'shared-logs', destination, headers);

async function logs(base: string, query = ''): Promise<Page> {
  const res = await fetch(`${base}/v2/events${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

/** Every entry, two to a page, following the cursor. */
async function paged(base: string): Promise<Entry[]> {
  const all: Entry[] = [];
  let cursor: string | undefined;
  do {
    const page = await logs(base, `?count=2${cursor !== undefined ? `&cursor=${cursor}` : ''}`);
    all.push(...page.events);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return all;
}

describe('the logs on Redis', () => {
  it('list the same entries on every server, and keep them across a restart', async () => {
    const prefix = testPrefix('shared-logs');
    onTestFinished(() => deletePrefix(prefix, testRedisUrl()));
    const a = await server(prefix);
    const b = await server(prefix);

    const ended = collectEvents(
      b.app,
      (e) => e.type === 'message:delivered' || e.type === 'message:dead-lettered',
      2,
    );
    const ok = await publish(a.base, 'sim://work?duration=20ms', { 'Upstash-Label': 'fine' });
    const bad = await publish(a.base, 'sim://work?duration=20ms&fail=1&status=500', {
      'Upstash-Retries': '1',
      'Upstash-Retry-Delay': '10',
    });
    const waiting = await publish(a.base, 'sim://work', { 'Upstash-Delay': '1h' });
    await ended;
    await a.logs.settled();
    await b.logs.settled();

    // Server b never saw these published, yet lists every state of each.
    const onA = await logs(a.base);
    const onB = await logs(b.base);
    expect(onB).toEqual(onA);
    const states = (id: string) => onB.events.filter((e) => e.messageId === id).map((e) => e.state);
    expect(states(ok)).toEqual(['DELIVERED', 'ACTIVE', 'CREATED']);
    expect(states(bad)).toEqual([
      'FAILED',
      'ERROR',
      'ACTIVE',
      'RETRY',
      'ERROR',
      'ACTIVE',
      'CREATED',
    ]);
    expect(states(waiting)).toEqual(['CREATED']);
    expect(onB.events.find((e) => e.messageId === ok)).toMatchObject({
      url: 'sim://work?duration=20ms',
      label: 'fine',
      flowControlKey: 'shared-logs',
    });
    expect(onB.events.find((e) => e.messageId === waiting)).toMatchObject({ body: 'hello' });
    expect(onB.events.find((e) => e.state === 'FAILED')).toMatchObject({
      messageId: bad,
      body: 'hello',
    });
    // Filters and the cursor as on any one server.
    expect((await logs(b.base, '?label=fine')).events.map((e) => e.messageId)).toEqual([
      ok,
      ok,
      ok,
    ]);
    expect(await paged(b.base)).toEqual(onA.events);

    // A stop of every server: the logs are in Redis.
    await a.close();
    await b.close();
    const c = await server(prefix);
    await c.logs.settled();
    expect(await logs(c.base)).toEqual(onA);

    // And they go on: a cancel through the restarted server is listed after them.
    expect((await fetch(`${c.base}/v2/messages/${waiting}`, { method: 'DELETE' })).status).toBe(
      200,
    );
    await expect
      .poll(async () => (await logs(c.base, `?messageId=${waiting}`)).events.map((e) => e.state))
      .toEqual(['CANCELED', 'CREATED']);
  });

  it('adds each entry once however many servers follow the stream', async () => {
    const prefix = testPrefix('shared-logs');
    onTestFinished(() => deletePrefix(prefix, testRedisUrl()));
    const servers = [await server(prefix), await server(prefix), await server(prefix)];
    const delivered = collectEvents(servers[0]!.app, (e) => e.type === 'message:delivered', 30);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++)
      ids.push(await publish(servers[i % 3]!.base, 'sim://work?duration=5ms'));
    await delivered;
    for (const s of servers) await s.logs.settled();
    const { events } = await logs(servers[1]!.base);
    for (const id of ids)
      expect(events.filter((e) => e.messageId === id).map((e) => e.state)).toEqual([
        'DELIVERED',
        'ACTIVE',
        'CREATED',
      ]);
    expect(events).toHaveLength(90);
  });
});
