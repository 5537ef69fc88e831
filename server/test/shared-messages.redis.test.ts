/**
 * The message log on Redis, as a user sees it through the API: any server answers for any
 * message and dead letter, whichever server took it in, and a restart of every server keeps them.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { RedisMessages } from '../store/redis/messages';
import { deletePrefix, testPrefix } from '../store/redis/testing';
import { testRedisUrl } from '../store/contract/test-redis-url';
import { startDestination } from './destination';
import { collectEvents, publishUnder, startRedisApp, type Running } from './helpers';

interface Shown {
  messageId: string;
  state: string;
  url: string;
  body?: string;
  attempts: Array<{ attempt: number; status?: number }>;
  dlqId?: string;
  flowControlKey?: string;
}

async function server(prefix: string): Promise<Running & { log: RedisMessages }> {
  const running = await startRedisApp(prefix);
  onTestFinished(running.close);
  return { ...running, log: running.redis.sharedLog };
}

const publish = (base: string, destination: string, headers: Record<string, string> = {}) =>
  publishUnder(base, 'shared-log', destination, headers);

const json = async <T>(res: Response): Promise<T> => {
  expect(res.status).toBe(200);
  return (await res.json()) as T;
};

describe('the message log on Redis', () => {
  it('answers the same on every server, and keeps messages and dead letters across a restart', async () => {
    const prefix = testPrefix('shared-log');
    onTestFinished(() => deletePrefix(prefix, testRedisUrl()));
    const a = await server(prefix);
    const b = await server(prefix);

    const ended = collectEvents(
      b.app,
      (e) => e.type === 'message:delivered' || e.type === 'message:dead-lettered',
      2,
    );
    const ok = await publish(a.base, 'sim://work?duration=20ms');
    const bad = await publish(a.base, 'sim://work?duration=20ms&fail=1&status=500', {
      'Upstash-Retries': '0',
    });
    const waiting = await publish(a.base, 'sim://work', { 'Upstash-Delay': '1h' });
    await ended;
    await a.log.settled();
    await b.log.settled();

    // Server b never saw these published, yet answers for each.
    const shownOk = await json<Shown>(await fetch(`${b.base}/v2/messages/${ok}`));
    expect(shownOk).toMatchObject({
      messageId: ok,
      state: 'delivered',
      url: 'sim://work?duration=20ms',
      flowControlKey: 'shared-log',
    });
    expect(shownOk.attempts).toMatchObject([{ attempt: 0, status: 200 }]);
    const shownWaiting = await json<Shown>(await fetch(`${b.base}/v2/messages/${waiting}`));
    expect(shownWaiting).toMatchObject({ state: 'scheduled', body: 'hello' });

    const dlq = await json<{ messages: Shown[] }>(await fetch(`${b.base}/v2/dlq`));
    expect(dlq.messages.map((m) => m.messageId)).toEqual([bad]);
    expect(dlq.messages[0]).toMatchObject({ state: 'failed', body: 'hello' });
    const dlqId = dlq.messages[0]!.dlqId!;

    // A stop of every server: the log is in Redis.
    await a.close();
    await b.close();
    const c = await server(prefix);
    expect(await json<Shown>(await fetch(`${c.base}/v2/messages/${ok}`))).toMatchObject({
      state: 'delivered',
    });
    expect(await json<Shown>(await fetch(`${c.base}/v2/messages/${waiting}`))).toMatchObject({
      state: 'scheduled',
    });
    const again = await json<{ messages: Shown[] }>(await fetch(`${c.base}/v2/dlq`));
    expect(again.messages.map((m) => m.dlqId)).toEqual([dlqId]);

    // A cancel through the restarted server ends the message every server knows.
    const cancelled = await fetch(`${c.base}/v2/messages/${waiting}`, { method: 'DELETE' });
    expect(cancelled.status).toBe(200);
    await c.log.settled();
    await expect
      .poll(async () => (await json<Shown>(await fetch(`${c.base}/v2/messages/${waiting}`))).state)
      .toBe('cancelled');

    // Deleting the dead letter on one server deletes it for all.
    expect((await fetch(`${c.base}/v2/dlq/${dlqId}`, { method: 'DELETE' })).status).toBe(200);
    expect((await fetch(`${c.base}/v2/dlq/${dlqId}`, { method: 'DELETE' })).status).toBe(404);
    expect((await json<{ messages: Shown[] }>(await fetch(`${c.base}/v2/dlq`))).messages).toEqual(
      [],
    );
  });

  it('applies each event once however many servers follow the stream', async () => {
    const prefix = testPrefix('shared-log');
    onTestFinished(() => deletePrefix(prefix, testRedisUrl()));
    const servers = [await server(prefix), await server(prefix), await server(prefix)];
    const delivered = collectEvents(servers[0]!.app, (e) => e.type === 'message:delivered', 30);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++)
      ids.push(await publish(servers[i % 3]!.base, 'sim://work?duration=5ms'));
    await delivered;
    for (const s of servers) await s.log.settled();
    for (const id of ids) {
      const shown = await json<Shown>(await fetch(`${servers[1]!.base}/v2/messages/${id}`));
      expect(shown.state).toBe('delivered');
      // Three servers sent the same events: one attempt each, never three.
      expect(shown.attempts).toHaveLength(1);
    }
  });

  it('publishes a callback once, from the server that delivered, with what the destination answered', async () => {
    const prefix = testPrefix('shared-log');
    onTestFinished(() => deletePrefix(prefix, testRedisUrl()));
    const dest = await startDestination((r) =>
      r.path.startsWith('/cb')
        ? { status: 200 }
        : {
            status: r.path === '/fail' ? 500 : 201,
            headers: { 'x-answer': 'yes' },
            body: `pong ${r.path}`,
          },
    );
    onTestFinished(() => dest.close());
    const a = await server(prefix);
    const b = await server(prefix);
    const key = {
      'Upstash-Flow-Control-Key': 'callbacks',
      'Upstash-Flow-Control-Value': 'parallelism=1',
    };
    // b takes the key's only token first; its delivery's end hands the token to a's messages,
    // which b then delivers.
    await publish(b.base, 'sim://hold?duration=300ms', key);
    const ok = await publish(a.base, `${dest.url}/ok`, {
      ...key,
      'Upstash-Callback': `${dest.url}/cb/ok`,
      'Upstash-Failure-Callback': `${dest.url}/cb/never`,
    });
    const failed = await publish(a.base, `${dest.url}/fail`, {
      ...key,
      'Upstash-Retries': '0',
      'Upstash-Failure-Callback': `${dest.url}/cb/failed`,
    });
    await dest.answered(4);
    // Give a second publish (there must be none) time to arrive.
    await new Promise((r) => setTimeout(r, 300));
    const callbacks = dest.received.filter((r) => r.path.startsWith('/cb'));
    expect(callbacks.map((r) => r.path).sort()).toEqual(['/cb/failed', '/cb/ok']);
    const okBody = JSON.parse(callbacks.find((r) => r.path === '/cb/ok')!.body) as Record<
      string,
      unknown
    >;
    expect(okBody).toMatchObject({
      status: 201,
      sourceMessageId: ok,
      url: `${dest.url}/ok`,
      body: Buffer.from('pong /ok').toString('base64'),
      header: { 'x-answer': ['yes'] },
      retried: 0,
    });
    const failedBody = JSON.parse(callbacks.find((r) => r.path === '/cb/failed')!.body) as Record<
      string,
      unknown
    >;
    expect(failedBody).toMatchObject({
      status: 500,
      sourceMessageId: failed,
      dlqId: `dlq_${failed.replace(/^msg_/, '')}`,
      body: Buffer.from('pong /fail').toString('base64'),
    });
  });
});
