/**
 * The chaos test's (chaos.redis.test.ts) "everything else": what a user makes through the API
 * besides messages, made before every server and Redis stop, and asked for after they start again
 * from the AOF.
 */
import { expect } from 'vitest';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What a user made through the API besides messages, each on another server: a URL group, a
 * paused queue, a schedule, a dead letter. `check` asks a server for each after the restart,
 * and for the history of the delayed messages' neighbour, a delivered one.
 */
export async function keepEverythingElse(destination: string, on: (i: number) => string) {
  const call = async (i: number, method: string, path_: string, init: RequestInit = {}) => {
    const res = await fetch(`${on(i)}${path_}`, { method, ...init });
    const text = await res.text();
    expect(res.status, `${method} ${path_}: ${text}`).toBe(200);
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  };
  await call(0, 'POST', '/v2/topics/chaos-group/endpoints', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      endpoints: [{ url: `${destination}/g/1` }, { url: `${destination}/g/2` }],
    }),
  });
  await call(1, 'POST', '/v2/queues/', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ queueName: 'chaos-queue', parallelism: 2, paused: true }),
  });
  const { scheduleId } = (await call(2, 'POST', `/v2/schedules/${destination}/s`, {
    headers: { 'Upstash-Cron': '0 0 1 1 *' },
    body: 'yearly',
  })) as { scheduleId: string };
  const { messageId: failed } = (await call(0, 'POST', '/v2/publish/sim://chaos?fail=1', {
    headers: { 'Upstash-Retries': '0' },
    body: 'dead',
  })) as { messageId: string };
  const { messageId: delivered } = (await call(1, 'POST', '/v2/publish/sim://chaos', {
    body: 'done',
  })) as { messageId: string };
  const dlqOf = async (i: number) =>
    (
      (await call(i, 'GET', '/v2/dlq')) as {
        messages: Array<{ messageId: string; dlqId: string }>;
      }
    ).messages;
  const stateOf = async (i: number, id: string) =>
    ((await call(i, 'GET', `/v2/messages/${id}`)) as { state: string }).state;
  await until(async () => (await dlqOf(2)).some((m) => m.messageId === failed));
  await until(async () => (await stateOf(2, delivered)) === 'delivered');
  const dlqId = (await dlqOf(1)).find((m) => m.messageId === failed)!.dlqId;

  return {
    async check() {
      const group = (await call(1, 'GET', '/v2/topics/chaos-group')) as {
        endpoints: Array<{ url: string }>;
      };
      expect(group.endpoints.map((e) => e.url)).toEqual([
        `${destination}/g/1`,
        `${destination}/g/2`,
      ]);
      expect(await call(2, 'GET', '/v2/queues/chaos-queue')).toMatchObject({
        name: 'chaos-queue',
        parallelism: 2,
        paused: true,
      });
      expect(await call(0, 'GET', `/v2/schedules/${scheduleId}`)).toMatchObject({
        scheduleId,
        cron: '0 0 1 1 *',
        isPaused: false,
      });
      expect((await dlqOf(2)).map((m) => m.dlqId)).toEqual([dlqId]);
      expect(await stateOf(0, failed)).toBe('failed');
      expect(await stateOf(1, delivered)).toBe('delivered');
    },
  };
}

/** Polls `check` every 50 ms for up to 10 s. */
async function until(check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not so within 10 s: ${check.toString()}`);
    await sleep(50);
  }
}
