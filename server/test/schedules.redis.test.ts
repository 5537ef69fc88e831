/**
 * Schedules through two Baton servers on one Redis, as a user runs them: a schedule created on
 * one is answered by the other, and its tick is published once between them.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { Client } from '@upstash/qstash';
import { testRedisUrl } from '../store/contract/test-redis-url';
import { deletePrefix, testPrefix } from '../store/redis/testing';
import { collectEvents, startRedisApp, type Running } from './helpers';
import { manualTime } from './manual-time';

const T0 = Date.UTC(2030, 0, 15, 10, 0, 30);
const TICK = Date.UTC(2030, 0, 15, 10, 1);
const MIN = 60_000;

/** A server on the prefix, on its own timers and a clock the test moves with the others'. */
async function server(url: string, prefix: string) {
  const time = manualTime(T0);
  const running: Running = await startRedisApp(prefix, {
    deployment: { url, clock: time.clock },
    app: { clock: time.clock, timers: time.timers },
  });
  onTestFinished(() => running.close());
  return { ...running, time, client: new Client({ baseUrl: running.base, token: 'any' }) };
}

describe('schedules on two servers sharing one Redis', () => {
  it('are answered by both, and each tick is published once', async () => {
    const url = testRedisUrl();
    const prefix = testPrefix('schedules-app');
    onTestFinished(() => deletePrefix(prefix, url));
    const a = await server(url, prefix);
    const b = await server(url, prefix);
    /** Moves both servers' time, then lets each finish what its timers started. */
    const advance = async (to: number) => {
      a.time.advance(to);
      b.time.advance(to);
      await Promise.all([a.app.schedules.settled(), b.app.schedules.settled()]);
    };

    const { scheduleId } = await a.client.schedules.create({
      destination: 'sim://tick?duration=0ms',
      cron: '* * * * *',
      body: 'tick',
      flowControl: { key: 'ticks', parallelism: 1 },
    });
    const onA = await a.client.schedules.get(scheduleId);
    expect(onA).toMatchObject({ createdAt: T0, nextScheduleTime: TICK, body: 'tick' });
    expect(await b.client.schedules.get(scheduleId)).toEqual(onA);
    expect(await b.client.schedules.list()).toEqual([onA]);

    const accepted = collectEvents(a.app, (e) => e.type === 'message:accepted', 2);
    await advance(T0 + 1000); // b polls and arms for the tick
    await advance(TICK);
    await advance(TICK + MIN);
    const ids = (await accepted).map((e) => (e.type === 'message:accepted' ? e.messageId : ''));
    expect(new Set(ids).size).toBe(2);
    // The schedule's last tick is the second message, whichever server published it.
    expect((await b.app.schedules.get(scheduleId))?.lastMessageIds).toEqual([ids[1]]);
    const snapshot = await a.app.controller.snapshot(0);
    expect(snapshot.engine.stats.accepted).toBe(2);

    // Paused through b: neither publishes at the next tick.
    await b.client.schedules.pause({ schedule: scheduleId });
    await advance(TICK + 3 * MIN);
    expect((await a.app.controller.snapshot(0)).engine.stats.accepted).toBe(2);
    expect(await a.client.schedules.get(scheduleId)).toMatchObject({ isPaused: true });
    await a.client.schedules.delete(scheduleId);
    expect(await b.client.schedules.list()).toEqual([]);
  });
});
