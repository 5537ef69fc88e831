import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@upstash/qstash';
import { collectEvents, startApp, type Running } from './helpers';
import { manualTime } from './manual-time';

let server: Running;
afterEach(async () => {
  await server?.close();
});

const T0 = Date.UTC(2030, 0, 15, 10, 0, 30);
const MIN = 60_000;

async function setup() {
  const time = manualTime(T0);
  server = await startApp({ clock: time.clock, timers: time.timers });
  const client = new Client({ baseUrl: server.base, token: 'any-token' });
  return { time, client };
}

const delivered = (n: number) =>
  collectEvents(server.app, (e) => e.type === 'message:delivered', n);

describe('schedules through the official @upstash/qstash client', () => {
  it('creates a schedule with flow control and reads it back, alone and in the list', async () => {
    const { client } = await setup();
    const { scheduleId } = await client.schedules.create({
      destination: 'sim://tick?duration=0ms',
      cron: '*/5 * * * *',
      body: JSON.stringify({ hello: 'world' }),
      headers: { 'X-Token': 'abc' },
      flowControl: { key: 'sched', parallelism: 2, rate: 10, period: '1m' },
      retries: 2,
      delay: 10,
      retryDelay: '1000 * retried',
      callback: 'sim://done',
      failureCallback: 'sim://failed',
      label: 'nightly',
    });
    expect(scheduleId).toMatch(/^scd_/);
    const expected = {
      scheduleId,
      cron: '*/5 * * * *',
      createdAt: T0,
      destination: 'sim://tick?duration=0ms',
      method: 'POST',
      header: { 'x-token': ['abc'], 'content-type': ['application/json'] },
      body: '{"hello":"world"}',
      retries: 2,
      delay: 10,
      callback: 'sim://done',
      failureCallback: 'sim://failed',
      isPaused: false,
      flowControlKey: 'sched',
      parallelism: 2,
      rate: 10,
      period: 60,
      retryDelayExpression: '1000 * retried',
      label: 'nightly',
      nextScheduleTime: Date.UTC(2030, 0, 15, 10, 5),
    };
    const got = await client.schedules.get(scheduleId);
    expect(got).toMatchObject(expected);
    expect(got.lastScheduleTime).toBeUndefined();
    expect(got.lastScheduleStates).toBeUndefined();
    const list = await client.schedules.list();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject(expected);
  });

  it('publishes at each tick as a publish would: delay from the tick, flow control, last states', async () => {
    const { time, client } = await setup();
    const { scheduleId } = await client.schedules.create({
      destination: 'sim://tick?duration=0ms',
      cron: '* * * * *',
      body: 'tick',
      delay: '10s',
      flowControl: { key: 'ticks', parallelism: 1 },
    });
    const tick = Date.UTC(2030, 0, 15, 10, 1);
    time.advance(tick);
    const fired = await client.schedules.get(scheduleId);
    expect(fired).toMatchObject({ lastScheduleTime: tick, nextScheduleTime: tick + MIN });
    const [id] = Object.keys(fired.lastScheduleStates ?? {});
    expect(fired.lastScheduleStates).toEqual({ [id!]: 'scheduled' });
    expect(await client.messages.get(id!)).toMatchObject({
      messageId: id,
      url: 'sim://tick?duration=0ms',
      flowControlKey: 'ticks',
      body: 'tick',
      notBefore: tick + 10_000,
    });

    const done = delivered(1);
    time.advance(tick + 10_000);
    await done;
    expect((await client.schedules.get(scheduleId)).lastScheduleStates).toEqual({
      [id!]: 'delivered',
    });

    // The next tick publishes a new message, now the schedule's last one.
    time.advance(tick + MIN);
    const again = await client.schedules.get(scheduleId);
    expect(again.lastScheduleTime).toBe(tick + MIN);
    expect(Object.keys(again.lastScheduleStates ?? {})).not.toContain(id);
  });

  it('pauses, resumes and deletes', async () => {
    const { time, client } = await setup();
    const { scheduleId } = await client.schedules.create({
      destination: 'sim://p',
      cron: '* * * * *',
    });
    await client.schedules.pause({ schedule: scheduleId });
    const paused = await client.schedules.get(scheduleId);
    expect(paused.isPaused).toBe(true);
    expect(paused.nextScheduleTime).toBeUndefined();
    time.advance(T0 + 5 * MIN);
    expect((await client.schedules.get(scheduleId)).lastScheduleTime).toBeUndefined();

    await client.schedules.resume({ schedule: scheduleId });
    expect(await client.schedules.get(scheduleId)).toMatchObject({
      isPaused: false,
      nextScheduleTime: Date.UTC(2030, 0, 15, 10, 6),
    });
    // POST is accepted for pause and resume too, with an empty 200.
    const res = await fetch(`${server.base}/v2/schedules/${scheduleId}/pause`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect((await client.schedules.get(scheduleId)).isPaused).toBe(true);

    await client.schedules.delete(scheduleId);
    expect(await client.schedules.list()).toEqual([]);
    await expect(client.schedules.get(scheduleId)).rejects.toMatchObject({
      status: 404,
      message: expect.stringMatching(new RegExp(`schedule .*${scheduleId}.* not found`)),
    });
    await expect(client.schedules.delete(scheduleId)).rejects.toMatchObject({ status: 404 });
    await expect(client.schedules.pause({ schedule: scheduleId })).rejects.toMatchObject({
      status: 404,
    });
  });

  it('replaces the schedule created again under its id', async () => {
    const { client } = await setup();
    await client.schedules.create({ destination: 'sim://a', cron: '* * * * *', scheduleId: 'job' });
    const { scheduleId } = await client.schedules.create({
      destination: 'sim://b',
      cron: 'CRON_TZ=America/New_York 0 9 * * *',
      scheduleId: 'job',
    });
    expect(scheduleId).toBe('job');
    const list = await client.schedules.list();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      scheduleId: 'job',
      destination: 'sim://b',
      cron: 'CRON_TZ=America/New_York 0 9 * * *',
      nextScheduleTime: Date.UTC(2030, 0, 15, 14, 0),
    });
  });

  it('refuses a bad cron or a bad publish header with a 400 that says what is wrong', async () => {
    const { client } = await setup();
    await expect(
      client.schedules.create({ destination: 'sim://x', cron: '* * * *' }),
    ).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/5 fields.*got 4/) });

    const post = (headers: Record<string, string>, dest = 'sim://x') =>
      fetch(`${server.base}/v2/schedules/${dest}`, { method: 'POST', headers });
    const cases: Array<[Record<string, string>, RegExp, string?]> = [
      [{}, /Upstash-Cron is required/],
      [{ 'Upstash-Cron': '0 */5 * * * *' }, /got 6.*seconds field is not supported/],
      [{ 'Upstash-Cron': '99 * * * *' }, /not a valid cron expression/],
      [{ 'Upstash-Cron': 'CRON_TZ=Nowhere/Land * * * * *' }, /not an IANA time zone/],
      [{ 'Upstash-Cron': '* * * * *', 'Upstash-Retries': 'many' }, /Upstash-Retries/],
      [
        { 'Upstash-Cron': '* * * * *', 'Upstash-Flow-Control-Value': 'parallelism=0' },
        /Flow-Control/i,
      ],
      [{ 'Upstash-Cron': '* * * * *' }, /http, https or sim/, 'ftp://x'],
      [{ 'Upstash-Cron': '* * * * *' }, /destination is missing/, ''],
    ];
    for (const [headers, message, dest] of cases) {
      const res = await post(headers, dest);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(message);
    }
    expect(await client.schedules.list()).toEqual([]);
  });
});
