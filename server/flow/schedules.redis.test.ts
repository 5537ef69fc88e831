/**
 * Schedules on one Redis shared by several servers: each server is a `Schedules` of its own, with
 * its own connection and timers, on one clock. A schedule created on any is seen by all, its tick
 * is published once across them, and a restart of every one of them loses none.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { messageId, type Millis } from '../../shared/engine/units';
import type { ParsedPublish } from '../../shared/protocol/publish';
import { testRedisUrl } from '../store/contract/test-redis-url';
import { RedisRecords } from '../store/redis/records';
import { deletePrefix, testPrefix } from '../store/redis/testing';
import { Schedules } from './schedules';
import type { Timers } from './types';

// Polls fall half a second off the whole seconds the ticks are on, so `ticks()` tells them apart.
const T0 = Date.UTC(2030, 0, 15, 10, 0, 30, 500);
const MIN = 60_000;
const TICK = Date.UTC(2030, 0, 15, 10, 1); // the first tick of '* * * * *' after T0
const POLL = 10_000;
const at = (h: number, m: number, s = 0, ms = 0) => Date.UTC(2030, 0, 15, h, m, s, ms);

interface Server {
  name: string;
  schedules: Schedules;
  /** When each of its armed timers fires, its poll's included. */
  armed(): number[];
  /** The ticks it has a timer for (not its poll's). */
  ticks(): number[];
  /** When its tick timers fired. */
  fired: number[];
}

/** Servers on one prefix and one clock, each with its own timers; time moves for all at once. */
function cluster(startAt = T0) {
  const url = testRedisUrl();
  const prefix = testPrefix('schedules');
  onTestFinished(() => deletePrefix(prefix, url));
  let now = startAt;
  let n = 0;
  const clock = { now: () => now as Millis };
  const servers: Server[] = [];
  const pending = new Map<Server, Map<number, { at: number; fn: () => void }>>();
  const published: Array<{ server: string; at: number; parsed: ParsedPublish }> = [];
  const warnings: unknown[] = [];
  /** While set, a publish says it began, then waits to be let through (a slow publish). */
  let hold: { began: () => void; through: Promise<void> } | undefined;

  function start(name: string): Server {
    const mine = new Map<number, { at: number; fn: () => void }>();
    let next = 1;
    const timers: Timers = {
      set(fn, delay) {
        const id = next++;
        mine.set(id, { at: now + delay, fn });
        return id;
      },
      clear: (h) => void mine.delete(h as number),
    };
    const records = new RedisRecords(url, prefix);
    const schedules = new Schedules({
      clock,
      timers,
      records,
      pollMs: POLL,
      publish: async (parsed) => {
        if (hold !== undefined) {
          hold.began();
          await hold.through;
        }
        published.push({ server: name, at: now, parsed });
        return { messageId: messageId(`msg_${++n}`) };
      },
      warn: (_msg, err) => warnings.push(err),
    });
    const server: Server = {
      name,
      schedules,
      armed: () => [...mine.values()].map((p) => p.at).sort((a, b) => a - b),
      ticks: () => server.armed().filter((t) => t % 1000 === 0),
      fired: [],
    };
    servers.push(server);
    pending.set(server, mine);
    onTestFinished(async () => {
      await schedules.close();
      await records.close();
    });
    return server;
  }

  /** Lets every server finish what its timers started. */
  const settled = () => Promise.all(servers.map((s) => s.schedules.settled()));

  return {
    start,
    published,
    warnings,
    settled,
    /**
     * Holds the next publishes: `began` resolves once `n` have begun (their ticks claimed), and
     * `release` lets every one through.
     */
    holdPublishes(n: number) {
      let release!: () => void;
      let allBegan!: () => void;
      const through = new Promise<void>((resolve) => (release = resolve));
      const began = new Promise<void>((resolve) => (allBegan = resolve));
      let count = 0;
      hold = { began: () => void (++count === n && allBegan()), through };
      return {
        began,
        release: () => {
          hold = undefined;
          release();
        },
      };
    },
    /**
     * Moves to `to`: the timers due at one instant fire together on every server (so the servers
     * race for a tick as real ones do), then each finishes what they started, then the next.
     */
    async advance(to: number) {
      for (;;) {
        let first = Infinity;
        for (const mine of pending.values())
          for (const p of mine.values()) if (p.at <= to) first = Math.min(first, p.at);
        if (first === Infinity) break;
        now = Math.max(now, first);
        for (const [server, mine] of pending) {
          for (const [id, p] of [...mine]) {
            if (p.at !== first) continue;
            mine.delete(id);
            if (p.at % 1000 === 0) server.fired.push(p.at);
            p.fn();
          }
        }
        await settled();
      }
      now = to;
    },
    /** Moves the clock with no timer firing (every server was down). */
    jump: (to: number) => void (now = to),
    /** Stops a server: its timers are cleared, its records closed. */
    async stop(server: Server) {
      await server.schedules.close();
      servers.splice(servers.indexOf(server), 1);
      pending.delete(server);
    },
  };
}

const create = async (s: Server, cron = '* * * * *', id?: string) =>
  (
    await s.schedules.create(
      'sim://tick',
      { 'upstash-cron': cron, ...(id !== undefined ? { 'upstash-schedule-id': id } : {}) },
      'hello',
    )
  ).scheduleId;

describe('schedules on one Redis shared by several servers', () => {
  it('are answered the same by every server, and armed by each after a poll', async () => {
    const c = cluster();
    const [a, b, d] = [c.start('a'), c.start('b'), c.start('d')];
    await c.settled();
    const id = await create(a);
    for (const s of [a, b, d]) {
      expect(await s.schedules.get(id)).toMatchObject({ scheduleId: id, nextScheduleTime: TICK });
      expect((await s.schedules.list()).map((x) => x.scheduleId)).toEqual([id]);
    }
    // Only the server that created it has its timer until the others poll.
    expect(a.armed()).toEqual([T0 + POLL, TICK]);
    expect(b.armed()).toEqual([T0 + POLL]);
    await c.advance(T0 + POLL);
    for (const s of [a, b, d]) expect(s.armed()).toEqual([T0 + 2 * POLL, TICK]);
    expect(c.warnings).toEqual([]);
  });

  it('publish each tick once across all servers, whose timers all fire for it', async () => {
    const c = cluster();
    const [a, b, d] = [c.start('a'), c.start('b'), c.start('d')];
    await c.settled();
    const id = await create(b);
    await c.advance(T0 + POLL);
    await c.advance(TICK + 4 * MIN);
    const ticks = [0, 1, 2, 3, 4].map((i) => TICK + i * MIN);
    expect(c.published.map((p) => p.at)).toEqual(ticks);
    for (const s of [a, b, d]) expect(s.fired).toEqual(ticks);
    // Each server re-armed for the next tick after each, whichever published.
    for (const s of [a, b, d]) expect(s.ticks()).toEqual([TICK + 5 * MIN]);
    const s = await d.schedules.get(id);
    expect(s).toMatchObject({
      lastScheduleTime: TICK + 4 * MIN,
      nextScheduleTime: TICK + 5 * MIN,
      lastMessageIds: [`msg_5`],
    });
    // The message is the schedule's: its body, and the schedule's id for the destination.
    const last = c.published[4]!.parsed;
    expect(last.payload.body).toEqual(new TextEncoder().encode('hello'));
    expect(last.payload.headers).toMatchObject({ 'upstash-schedule-id': id });
    expect(c.warnings).toEqual([]);
  });

  it('stop ticking on every server when paused or deleted on one, and tick again when resumed', async () => {
    const c = cluster();
    const [a, b, d] = [c.start('a'), c.start('b'), c.start('d')];
    await c.settled();
    const id = await create(a);
    await c.advance(TICK);
    expect(c.published).toHaveLength(1);

    // Paused on b: a and d, armed for the next tick, find it paused when their timers fire.
    expect(await b.schedules.pause(id)).toBe(true);
    await c.advance(TICK + 5 * MIN);
    expect(c.published).toHaveLength(1);
    for (const s of [a, b, d]) expect(s.ticks()).toEqual([]);
    expect(await a.schedules.get(id)).toMatchObject({ isPaused: true });

    // Resumed on d: the others arm at their next poll; one message per tick again.
    expect(await d.schedules.resume(id)).toBe(true);
    const next = at(10, 7);
    await c.advance(next + MIN);
    expect(c.published.map((p) => p.at)).toEqual([TICK, next, next + MIN]);

    // Deleted on a: nobody ticks it, nobody knows it.
    expect(await a.schedules.delete(id)).toBe(true);
    await c.advance(next + 5 * MIN);
    expect(c.published).toHaveLength(3);
    for (const s of [a, b, d]) {
      expect(await s.schedules.get(id)).toBeUndefined();
      expect(s.ticks()).toEqual([]);
    }
    expect(await b.schedules.delete(id)).toBe(false);
    expect(await b.schedules.pause(id)).toBe(false);
  });

  it('arm for a schedule created again under its id elsewhere, and drop the old tick', async () => {
    const c = cluster();
    const [a, b] = [c.start('a'), c.start('b')];
    await c.settled();
    await create(a, '* * * * *', 'job');
    await c.advance(T0 + POLL);
    // Now every ten minutes, from b: a's timer for 10:01 finds it changed and re-arms.
    await create(b, '*/10 * * * *', 'job');
    expect(a.ticks()).toEqual([TICK]);
    await c.advance(at(10, 20));
    expect(c.published.map((p) => p.at)).toEqual([at(10, 10), at(10, 20)]);
    expect(await a.schedules.list()).toHaveLength(1);
  });

  it("keep a tick's message ids without undoing a pause or a delete made while it published", async () => {
    const c = cluster();
    const [a, b] = [c.start('a'), c.start('b')];
    await c.settled();
    const paused = await create(a, '* * * * *', 'paused');
    const deleted = await create(a, '* * * * *', 'deleted');
    await c.advance(T0 + POLL);
    // Both ticks are claimed; their publishes wait while b pauses one and deletes the other.
    const held = c.holdPublishes(2);
    const ticking = c.advance(TICK);
    await held.began;
    expect(await b.schedules.get(paused)).toMatchObject({
      lastScheduleTime: TICK,
      lastMessageIds: [],
    });
    expect(await b.schedules.pause(paused)).toBe(true);
    expect(await b.schedules.delete(deleted)).toBe(true);
    held.release();
    await ticking;
    expect(c.published).toHaveLength(2);
    const s = await b.schedules.get(paused);
    expect(s).toMatchObject({ isPaused: true, lastScheduleTime: TICK });
    expect(s?.lastMessageIds).toHaveLength(1);
    expect(s?.nextScheduleTime).toBeUndefined();
    expect(await a.schedules.get(deleted)).toBeUndefined();
    expect(await a.schedules.list()).toHaveLength(1);
  });

  it('keep every schedule across a restart of every server, and tick it after', async () => {
    const c = cluster();
    const a = c.start('a');
    await c.settled();
    const id = await create(a, '* * * * *');
    const body = Buffer.from([0, 1, 2, 255]);
    await a.schedules.create(
      'sim://bytes?x=1',
      {
        'upstash-cron': 'CRON_TZ=Europe/Paris */5 * * * *',
        'upstash-schedule-id': 'bytes',
        'upstash-flow-control-key': 'k',
        'upstash-flow-control-value': 'parallelism=2',
        'upstash-forward-x-token': 'abc',
        'upstash-callback': 'sim://done',
        'upstash-retries': '1',
        'upstash-delay': '10s',
        'content-type': 'application/octet-stream',
      },
      body,
    );
    const before = await a.schedules.get('bytes');
    await c.advance(TICK);
    await c.stop(a);

    // Every server is down over 10:02, 10:03 and 10:04: the first up publishes one message for
    // the missed ticks, then keeps to the cron.
    const late = at(10, 4, 20, 500);
    c.jump(late);
    const [a2, b2] = [c.start('a2'), c.start('b2')];
    await c.settled();
    expect(await b2.schedules.get(id)).toMatchObject({
      lastScheduleTime: TICK,
      nextScheduleTime: at(10, 2),
      lastMessageIds: ['msg_1'],
    });
    // What was kept reads back as it was: the body's bytes, the template re-read from them.
    const after = await b2.schedules.get('bytes');
    expect(after).toEqual(before);
    expect(after?.body).toEqual(new Uint8Array(body));
    expect(after?.template.payload.body).toEqual(new Uint8Array(body));

    await c.advance(at(10, 6));
    // Ticks of one instant publish in no set order: sorted by destination within it.
    const order = c.published
      .map((p) => [p.at, p.parsed.payload.destination] as const)
      .sort(([t1, d1], [t2, d2]) => t1 - t2 || d2.localeCompare(d1));
    expect(order).toEqual([
      [TICK, 'sim://tick'],
      [late, 'sim://tick'],
      [at(10, 5), 'sim://tick'],
      [at(10, 5), 'sim://bytes?x=1'],
      [at(10, 6), 'sim://tick'],
    ]);
    const bytes = c.published.find(
      (p) => p.parsed.payload.destination === 'sim://bytes?x=1',
    )!.parsed;
    expect(bytes.payload.body).toEqual(new Uint8Array(body));
    expect(bytes.input).toEqual({
      key: 'k',
      config: { parallelism: 2 },
      retries: 1,
      notBefore: at(10, 5, 10),
    });
    expect(a2.ticks()).toEqual([at(10, 7), at(10, 10)]);
    expect(b2.ticks()).toEqual([at(10, 7), at(10, 10)]);
  });
});
