/**
 * Two Baton servers on one Redis, as a user runs them: the same key's limit holds across both,
 * whichever server a message was published to, and either server answers for the key.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { EngineEvent } from '../../shared/events';
import { deletePrefix, testPrefix } from '../store/redis/testing';
import { startRedisApp, type Running } from './helpers';

async function server(prefix: string): Promise<Running> {
  const running = await startRedisApp(prefix);
  onTestFinished(() => running.close());
  return running;
}

const publish = (base: string, key: string) =>
  fetch(`${base}/v2/publish/sim://work?duration=300ms`, {
    method: 'POST',
    headers: {
      'Upstash-Flow-Control-Key': key,
      'Upstash-Flow-Control-Value': 'parallelism=3',
    },
    body: 'hello',
  });

describe('two servers on one Redis', () => {
  it('share one limit: parallelism 3 across both, every message delivered once', async () => {
    const prefix = testPrefix('two-servers');
    onTestFinished(() => deletePrefix(prefix));
    const a = await server(prefix);
    const b = await server(prefix);
    const key = 'shared';
    const events: EngineEvent[] = [];
    a.app.controller.onEvents((batch) => events.push(...batch));
    const delivered = new Promise<void>((resolve) => {
      let n = 0;
      a.app.controller.onEvents((batch) => {
        n += batch.filter((e) => e.type === 'message:delivered').length;
        if (n === 12) resolve();
      });
    });

    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) => publish((i % 2 === 0 ? a : b).base, key)),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(12).fill(200));
    await delivered;

    // Server a heard every event of both servers, in one gap-free order.
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    // Never more than 3 in flight, counted from the events of both.
    let inFlight = 0;
    let most = 0;
    for (const e of events) {
      if (e.type === 'token:acquired') inFlight++;
      if (e.type === 'token:released') inFlight--;
      most = Math.max(most, inFlight);
    }
    expect(most).toBe(3);
    const ids = events.filter((e) => e.type === 'message:delivered').map((e) => e.messageId);
    expect(new Set(ids).size).toBe(12);

    // Either server answers for the key.
    for (const s of [a, b]) {
      const info = (await (await fetch(`${s.base}/v2/flowControl/${key}`)).json()) as {
        parallelismMax: number;
        parallelismCount: number;
        waitListSize: number;
      };
      expect(info).toMatchObject({ parallelismMax: 3, parallelismCount: 0, waitListSize: 0 });
    }
  });

  it('share deduplication ids: the same id published to both is one message', async () => {
    const prefix = testPrefix('two-servers-dedup');
    onTestFinished(() => deletePrefix(prefix));
    const a = await server(prefix);
    const b = await server(prefix);
    const send = (base: string) =>
      fetch(`${base}/v2/publish/sim://work?duration=10ms`, {
        method: 'POST',
        headers: { 'Upstash-Deduplication-Id': 'order-42' },
        body: 'once',
      }).then((r) => r.json() as Promise<{ messageId: string; deduplicated?: boolean }>);
    const [first, second, third] = await Promise.all([send(a.base), send(b.base), send(a.base)]);
    const ids = new Set([first.messageId, second.messageId, third.messageId]);
    expect(ids.size).toBe(1);
    expect([first, second, third].filter((r) => r.deduplicated === true)).toHaveLength(2);
  });
});
