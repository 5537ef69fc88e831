import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@upstash/qstash';
import { nextEvent, startApp, type Running } from './helpers';

let server: Running;
afterEach(async () => {
  await server?.close();
});

async function setup() {
  server = await startApp();
  return new Client({ baseUrl: server.base, token: 'any-token' });
}

/** Listens before publishing: a short simulated delivery can end before publish answers. */
const nextEnd = () =>
  nextEvent(
    server.app,
    (e) => e.type === 'message:delivered' || e.type === 'message:dead-lettered',
  );

describe('GET /v2/events, through the official client', () => {
  it('lists every state a delivered message went through, newest first', async () => {
    const client = await setup();
    const end = nextEnd();
    const { messageId } = await client.publish({
      url: 'sim://ok?duration=5ms',
      body: 'hi',
      flowControl: { key: 'logs-ok', parallelism: 1 },
      label: 'nightly',
    });
    await end;
    const { logs } = await client.logs({ filter: { flowControlKey: 'logs-ok' } });
    expect(logs.map((l) => l.state)).toEqual(['DELIVERED', 'ACTIVE', 'CREATED']);
    expect(logs[0]).toMatchObject({
      messageId,
      url: 'sim://ok?duration=5ms',
      body: 'hi',
      label: 'nightly',
    });
    expect(logs[0]!.time).toBeGreaterThanOrEqual(logs[2]!.time);
  });

  it('shows each failed attempt, its retry and the final failure', async () => {
    const client = await setup();
    const end = nextEnd();
    const { messageId } = await client.publish({
      url: 'sim://broken?duration=1ms&fail=1&status=503',
      retries: 1,
      retryDelay: '5',
    });
    await end;
    const { logs } = await client.logs({ messageIds: [messageId] });
    expect(logs.map((l) => l.state)).toEqual([
      'FAILED',
      'ERROR',
      'ACTIVE',
      'RETRY',
      'ERROR',
      'ACTIVE',
      'CREATED',
    ]);
    expect(logs[1]!.error).toBe('simulated failure');
    expect(logs[3]!.nextDeliveryTime).toBeGreaterThanOrEqual(logs[4]!.time);
    expect(logs[0]!.error).toMatch(/2 attempts failed: status 503/);
  });

  it('pages with count and cursor, without gaps or repeats', async () => {
    const client = await setup();
    for (let i = 0; i < 3; i++) {
      const end = nextEnd();
      await client.publish({
        url: `sim://page-${i}?duration=1ms`,
        flowControl: { key: 'logs-page', parallelism: 1 },
      });
      await end;
    }
    const all = (await client.logs({ filter: { flowControlKey: 'logs-page' } })).logs;
    expect(all).toHaveLength(9);
    const seen = [];
    let cursor: string | undefined;
    do {
      const page = await client.logs({
        count: 4,
        filter: { flowControlKey: 'logs-page' },
        ...(cursor !== undefined ? { cursor } : {}),
      });
      expect(page.logs.length).toBeLessThanOrEqual(4);
      seen.push(...page.logs);
      cursor = page.cursor;
    } while (cursor !== undefined);
    expect(seen).toEqual(all);
  });

  it('refuses a bad count and filters it cannot apply, with a clear error', async () => {
    await setup();
    const get = (query: string) => fetch(`${server.base}/v2/events?${query}`);
    for (const [query, error] of [
      ['count=0', /count must be from 1 to 1000/],
      ['count=ten', /count must be a whole number/],
      ['scheduleId=scd_1', /by scheduleId is not supported/],
    ] as const) {
      const res = await get(query);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(error);
    }
  });
});
