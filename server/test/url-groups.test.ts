import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@upstash/qstash';
import type { EngineEvent } from '../../shared/events';
import { deliveredUnder as deliveredTo, refusal, startApp, type Running } from './helpers';

let server: Running;
afterEach(async () => {
  await server?.close();
});

async function setup() {
  server = await startApp();
  return new Client({ baseUrl: server.base, token: 'any-token' });
}

/** Listens before publishing: a short simulated delivery can end before publish answers. */
const deliveredUnder = (key: string, n: number) => deliveredTo(server.app, key, n);

const A = 'sim://alpha?duration=20ms';
const B = 'sim://beta?duration=20ms';

describe('URL groups, through the official client', () => {
  it('creates, lists and reads a group, and fans a publish out to each endpoint under its flow control', async () => {
    const client = await setup();
    const before = Date.now();
    await client.urlGroups.addEndpoints({ name: 'team', endpoints: [{ url: A, name: 'a' }] });
    await client.urlGroups.addEndpoints({ name: 'team', endpoints: [{ url: B }] });
    const group = await client.urlGroups.get('team');
    expect(group).toEqual({
      name: 'team',
      createdAt: expect.any(Number),
      updatedAt: expect.any(Number),
      endpoints: [{ url: A, name: 'a' }, { url: B }],
    });
    expect(group.createdAt).toBeGreaterThanOrEqual(before);
    expect(group.updatedAt).toBeGreaterThanOrEqual(group.createdAt);
    expect(await client.urlGroups.list()).toEqual([group]);

    const waited: EngineEvent[] = [];
    server.app.controller.onEvents((evs) =>
      waited.push(...evs.filter((e) => e.type === 'message:waitlisted' && e.key === 'grp')),
    );
    const done = deliveredUnder('grp', 2);
    const res = await client.publishJSON({
      urlGroup: 'team',
      body: { hello: 'group' },
      flowControl: { key: 'grp', parallelism: 1 },
    });
    expect(res).toEqual([
      { messageId: expect.stringMatching(/^msg_/), url: A },
      { messageId: expect.stringMatching(/^msg_/), url: B },
    ]);
    const ids = res.map((r) => r.messageId);
    expect(new Set(ids).size).toBe(2);
    const delivered = await done;
    expect(new Set(delivered.map((e) => (e as { messageId: string }).messageId))).toEqual(
      new Set(ids),
    );
    // Parallelism 1 holds across the group: the second message waited for the first's token.
    expect(waited).toMatchObject([{ reason: 'parallelism', messageId: ids[1] }]);

    // Delivered, it keeps no body (--keep-bodies); its log entries show it.
    const second = await client.messages.get(ids[1]!);
    expect(second).toMatchObject({
      messageId: ids[1],
      url: B,
      body: '',
      flowControlKey: 'grp',
      urlGroup: 'team',
    });
    // The logs carry the group's name and filter by it.
    await client.publish({ url: 'sim://elsewhere?duration=1ms', body: 'x' });
    const { logs } = await client.logs({ filter: { urlGroup: 'team' } });
    expect(new Set(logs.map((l) => l.messageId))).toEqual(new Set(ids));
    expect(logs.filter((l) => l.state === 'DELIVERED')).toHaveLength(2);
    expect(logs.every((l) => l.body === '{"hello":"group"}')).toBe(true);
    expect(logs.every((l) => l.urlGroup === 'team')).toBe(true);
  });

  it('fans out inside a batch, and deduplicates each endpoint message on its own', async () => {
    const client = await setup();
    await client.urlGroups.addEndpoints({ name: 'fan', endpoints: [{ url: A }, { url: B }] });
    const done = deliveredUnder('bat', 3);
    const res = await client.batchJSON([
      { urlGroup: 'fan', body: { n: 1 }, flowControl: { key: 'bat', parallelism: 2 } },
      {
        url: 'sim://solo?duration=1ms',
        body: { n: 2 },
        flowControl: { key: 'bat', parallelism: 2 },
      },
    ]);
    // A group's item answers with an array in its place; a URL's item with one answer.
    expect(res).toEqual([
      [
        { messageId: expect.any(String), url: A },
        { messageId: expect.any(String), url: B },
      ],
      { messageId: expect.any(String), url: 'sim://solo?duration=1ms' },
    ]);
    await done;

    const first = await client.publish({ urlGroup: 'fan', body: 'd', deduplicationId: 'once' });
    const again = await client.publish({ urlGroup: 'fan', body: 'd', deduplicationId: 'once' });
    expect(new Set(first.map((r) => r.messageId)).size).toBe(2);
    expect(again).toEqual(
      first.map((r) => ({ messageId: r.messageId, url: r.url, deduplicated: true })),
    );
  });

  it('removes endpoints, deletes a group left empty or on request', async () => {
    const client = await setup();
    await client.urlGroups.addEndpoints({
      name: 'shrink',
      endpoints: [
        { url: A, name: 'a' },
        { url: B, name: 'b' },
      ],
    });
    await client.urlGroups.removeEndpoints({ name: 'shrink', endpoints: [{ name: 'a' }] });
    expect((await client.urlGroups.get('shrink')).endpoints).toEqual([{ url: B, name: 'b' }]);
    const done = deliveredUnder('one', 1);
    expect(
      await client.publish({
        urlGroup: 'shrink',
        body: '1',
        flowControl: { key: 'one', parallelism: 1 },
      }),
    ).toEqual([{ messageId: expect.any(String), url: B }]);
    await done;
    await client.urlGroups.removeEndpoints({ name: 'shrink', endpoints: [{ url: B }] });
    expect((await refusal(client.urlGroups.get('shrink'))).status).toBe(404);

    await client.urlGroups.addEndpoints({ name: 'gone', endpoints: [{ url: A }] });
    await client.urlGroups.delete('gone');
    expect(await client.urlGroups.list()).toEqual([]);
    const missing = await refusal(client.urlGroups.get('gone'));
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.message)).toEqual({ error: 'url group "gone" not found' });
    expect((await refusal(client.urlGroups.delete('gone'))).status).toBe(404);
  });

  it('refuses unknown groups, bad names and bad endpoints, and changes nothing', async () => {
    const client = await setup();
    const unknown = await refusal(client.publish({ urlGroup: 'nope', body: 'x' }));
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.message)).toEqual({ error: 'url group "nope" not found' });
    const inBatch = await refusal(
      client.batch([{ url: 'sim://fine?duration=1ms' }, { urlGroup: 'nope' }]),
    );
    expect(JSON.parse(inBatch.message)).toEqual({
      error: 'batch item 1: url group "nope" not found',
    });

    const bad = await refusal(
      client.urlGroups.addEndpoints({
        name: 'strict',
        endpoints: [{ url: A }, { url: 'localhost:3000/x' }],
      }),
    );
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.message).error).toMatch(/^endpoint 1: url "localhost:3000\/x"/);
    const ftp = await refusal(
      client.urlGroups.addEndpoints({ name: 'strict', endpoints: [{ url: 'ftp://x.example' }] }),
    );
    expect(JSON.parse(ftp.message).error).toMatch(/must use http, https or sim/);
    const badName = await refusal(
      client.urlGroups.addEndpoints({ name: 'no*stars', endpoints: [{ url: A }] }),
    );
    expect(badName.status).toBe(400);
    expect(JSON.parse(badName.message).error).toMatch(/url group name "no\*stars" is not valid/);
    expect(await client.urlGroups.list()).toEqual([]);

    await client.urlGroups.addEndpoints({ name: 'strict', endpoints: [{ url: A }] });
    const noSuch = await refusal(
      client.urlGroups.removeEndpoints({ name: 'strict', endpoints: [{ url: B }] }),
    );
    expect(noSuch.status).toBe(400);
    expect((await client.urlGroups.get('strict')).endpoints).toEqual([{ url: A }]);
    expect(
      (await refusal(client.urlGroups.removeEndpoints({ name: 'nope', endpoints: [{ url: A }] })))
        .status,
    ).toBe(404);
  });

  it('answers raw requests with {"error"} for malformed bodies and non-URL, non-group destinations', async () => {
    server = await startApp();
    const post = (path: string, body: string, method = 'POST') =>
      fetch(`${server.base}${path}`, { method, body });
    for (const body of ['', 'not json', '[]', '{"endpoints": {}}', '{"endpoints": []}']) {
      const res = await post('/v2/topics/g/endpoints', body);
      expect(res.status).toBe(400);
      expect(typeof ((await res.json()) as { error: unknown }).error).toBe('string');
    }
    const neither = await post('/v2/publish/not%20a%20group', '');
    expect(neither.status).toBe(400);
    expect(await neither.json()).toEqual({
      error: expect.stringMatching(/is neither an absolute URL .* nor a url group name/),
    });
    expect((await fetch(`${server.base}/v2/topics`)).status).toBe(200);
    expect((await post('/v2/topics/g/other', '{}')).status).toBe(404);
  });

  it('refuses a batch that would create more than 10,000 messages through groups', async () => {
    const client = await setup();
    const endpoints = Array.from({ length: 11 }, (_, i) => ({
      url: `sim://wide-${i}?duration=1ms`,
    }));
    await client.urlGroups.addEndpoints({ name: 'wide', endpoints });
    const items = Array.from({ length: 1000 }, () => ({ destination: 'wide', body: 'x' }));
    const res = await fetch(`${server.base}/v2/batch`, {
      method: 'POST',
      body: JSON.stringify(items),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(
      /at most 10000 messages .* this one 11000/,
    );
    expect((await server.app.controller.snapshot()).engine.stats.accepted).toBe(0);
  });
});
