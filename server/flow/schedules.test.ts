import { describe, expect, it } from 'vitest';
import { messageId } from '../../shared/engine/units';
import { InvalidRequest } from '../../shared/protocol/invalid-request';
import type { HeaderBag, ParsedPublish } from '../../shared/protocol/publish';
import type { MaybePromise } from '../store/flow-store';
import { nextTick, parseCron } from './cron';
import { Schedules } from './schedules';
import { manualTime } from '../test/manual-time';

const T0 = Date.UTC(2030, 0, 15, 10, 0, 30); // a Tuesday, 30 s past 10:00 UTC
const MIN = 60_000;

/** Memory records answer at once, and so does every method here: a promise fails the test. */
function sync<T>(value: MaybePromise<T>): T {
  if (value instanceof Promise) throw new Error('a promise where memory records answer at once');
  return value;
}

function setup(start = T0) {
  const time = manualTime(start);
  const published: Array<{ at: number; parsed: ParsedPublish }> = [];
  const errors: unknown[] = [];
  let n = 0;
  let ids = 0;
  let failNext = false;
  const schedules = new Schedules({
    clock: time.clock,
    timers: time.timers,
    publish: (parsed) => {
      if (failNext) {
        failNext = false;
        throw new Error('engine refused');
      }
      published.push({ at: time.clock.now(), parsed });
      return { messageId: messageId(`msg_${++n}`) };
    },
    onError: (_id, err) => errors.push(err),
    newId: () => `scd_${++ids}`,
  });
  const create = (cron: string, extra: HeaderBag = {}, dest = 'sim://tick', body?: string) =>
    sync(schedules.create(dest, { 'upstash-cron': cron, ...extra }, body)).scheduleId;
  return {
    time,
    schedules,
    published,
    errors,
    create,
    failNext: () => (failNext = true),
  };
}

describe('parseCron', () => {
  it('reads five fields in UTC, or in the CRON_TZ zone', () => {
    expect(parseCron('*/5 * * * *')).toEqual({ expression: '*/5 * * * *', tz: 'UTC' });
    expect(parseCron('  CRON_TZ=Europe/Paris   0 9 * * 1-5 ')).toEqual({
      expression: '0 9 * * 1-5',
      tz: 'Europe/Paris',
    });
  });

  it.each([
    [undefined, /Upstash-Cron is required/],
    ['', /Upstash-Cron is required/],
    ['* * * *', /must have 5 fields.*got 4/],
    ['0 * * * * *', /must have 5 fields.*got 6.*seconds field is not supported/],
    ['61 * * * *', /not a valid cron expression.*61/],
    ['* * * * mon-xyz', /not a valid cron expression/],
    ['0 0 31 2 *', /not a valid cron expression/],
    ['CRON_TZ=Mars/Olympus 0 9 * * *', /"Mars\/Olympus" in CRON_TZ is not an IANA time zone/],
    ['CRON_TZ=UTC', /must have 5 fields.*got 0/],
  ])('refuses %j', (raw, message) => {
    expect(() => parseCron(raw)).toThrow(InvalidRequest);
    expect(() => parseCron(raw)).toThrow(message);
  });

  it('finds the next tick strictly after the given instant', () => {
    const spec = parseCron('* * * * *');
    expect(nextTick(spec, Date.UTC(2030, 0, 1, 0, 1, 0))).toBe(Date.UTC(2030, 0, 1, 0, 2, 0));
    expect(nextTick(spec, Date.UTC(2030, 0, 1, 0, 1, 59, 999))).toBe(Date.UTC(2030, 0, 1, 0, 2, 0));
  });
});

describe('Schedules', () => {
  it('publishes at each cron tick with the stored headers and body, the delay counted from the tick', () => {
    const { time, schedules, published, create } = setup();
    const id = create(
      '*/5 * * * *',
      {
        'upstash-flow-control-key': 'k',
        'upstash-flow-control-value': 'parallelism=2',
        'upstash-delay': '10s',
        'upstash-forward-x-token': 'abc',
        'content-type': 'text/plain',
        authorization: 'Bearer secret',
      },
      'sim://tick?duration=5ms',
      'hello',
    );
    const first = Date.UTC(2030, 0, 15, 10, 5);
    expect(sync(schedules.get(id))?.nextScheduleTime).toBe(first);
    expect(time.armed()).toEqual([first]);
    time.advance(first - 1);
    expect(published).toHaveLength(0);
    time.advance(first);
    expect(published).toHaveLength(1);
    const p = published[0]!.parsed;
    expect(p.payload).toMatchObject({
      destination: 'sim://tick?duration=5ms',
      method: 'POST',
      headers: { 'x-token': 'abc', 'content-type': 'text/plain' },
      body: new TextEncoder().encode('hello'),
    });
    expect(p.input).toEqual({ key: 'k', config: { parallelism: 2 }, notBefore: first + 10_000 });
    const s = sync(schedules.get(id))!;
    expect(s.lastScheduleTime).toBe(first);
    expect(s.lastMessageIds).toEqual(['msg_1']);
    expect(s.nextScheduleTime).toBe(first + 5 * MIN);
    // The caller's own headers (here its token) are not kept for the messages.
    expect(s.headers).not.toHaveProperty('authorization');
    time.advance(first + 15 * MIN);
    expect(published.map((x) => x.at)).toEqual([
      first,
      first + 5 * MIN,
      first + 10 * MIN,
      first + 15 * MIN,
    ]);
    expect(published[3]!.parsed.input.notBefore).toBe(first + 15 * MIN + 10_000);
    expect(sync(schedules.get(id))?.lastMessageIds).toEqual(['msg_4']);
  });

  it('does not publish while paused, and resumes at the next tick after resume', () => {
    const { time, schedules, published, create } = setup();
    const id = create('* * * * *');
    time.advance(T0 + 30_000);
    expect(published).toHaveLength(1);
    expect(sync(schedules.pause(id))).toBe(true);
    expect(sync(schedules.get(id))).toMatchObject({ isPaused: true });
    expect(sync(schedules.get(id))?.nextScheduleTime).toBeUndefined();
    expect(time.armed()).toEqual([]);
    time.advance(T0 + 10 * MIN);
    expect(published).toHaveLength(1);
    expect(sync(schedules.resume(id))).toBe(true);
    const next = Date.UTC(2030, 0, 15, 10, 11);
    expect(sync(schedules.get(id))).toMatchObject({ isPaused: false, nextScheduleTime: next });
    time.advance(next);
    expect(published.map((x) => x.at)).toEqual([T0 + 30_000, next]);
    // Resuming one that runs changes nothing; unknown ids say so.
    expect(sync(schedules.resume(id))).toBe(true);
    expect(time.armed()).toEqual([next + MIN]);
    expect(sync(schedules.pause('scd_nope'))).toBe(false);
    expect(sync(schedules.resume('scd_nope'))).toBe(false);
  });

  it('replaces the schedule created again under the same id', () => {
    const { time, schedules, published, create } = setup();
    const id = create('* * * * *', { 'upstash-schedule-id': 'mine' }, 'sim://old');
    expect(id).toBe('mine');
    sync(schedules.pause(id));
    time.advance(T0 + MIN);
    expect(
      create(
        '*/10 * * * *',
        { 'upstash-schedule-id': 'mine', 'upstash-retries': '1' },
        'sim://new',
      ),
    ).toBe('mine');
    expect(sync(schedules.list())).toHaveLength(1);
    const s = sync(schedules.get('mine'))!;
    expect(s).toMatchObject({ cron: '*/10 * * * *', destination: 'sim://new', isPaused: false });
    expect(s.nextScheduleTime).toBe(Date.UTC(2030, 0, 15, 10, 10));
    // One timer: the old schedule's is gone.
    expect(time.armed()).toEqual([Date.UTC(2030, 0, 15, 10, 10)]);
    time.advance(Date.UTC(2030, 0, 15, 10, 20));
    expect(published.map((x) => x.parsed.payload.destination)).toEqual(['sim://new', 'sim://new']);
    expect(published[0]!.parsed.input.retries).toBe(1);
  });

  it('stops publishing once deleted', () => {
    const { time, schedules, published, create } = setup();
    const a = create('* * * * *');
    const b = create('* * * * *');
    time.advance(T0 + 30_000);
    expect(published).toHaveLength(2);
    expect(sync(schedules.delete(a))).toBe(true);
    expect(sync(schedules.delete(a))).toBe(false);
    expect(sync(schedules.get(a))).toBeUndefined();
    time.advance(T0 + 5 * MIN);
    expect(published).toHaveLength(6);
    expect(sync(schedules.list()).map((s) => s.scheduleId)).toEqual([b]);
  });

  it('reads the fields in the CRON_TZ zone', () => {
    const { schedules, create } = setup();
    // 09:00 in New York is 14:00 UTC in January; in Kolkata (UTC+5:30) 03:30 UTC the next day.
    const ny = create('CRON_TZ=America/New_York 0 9 * * *');
    const kol = create('CRON_TZ=Asia/Kolkata 0 9 * * *');
    const utc = create('0 9 * * *');
    expect(sync(schedules.get(ny))?.nextScheduleTime).toBe(Date.UTC(2030, 0, 15, 14, 0));
    expect(sync(schedules.get(kol))?.nextScheduleTime).toBe(Date.UTC(2030, 0, 16, 3, 30));
    expect(sync(schedules.get(utc))?.nextScheduleTime).toBe(Date.UTC(2030, 0, 16, 9, 0));
    expect(sync(schedules.get(ny))?.cron).toBe('CRON_TZ=America/New_York 0 9 * * *');
  });

  it("re-arms a tick beyond setTimeout's longest delay, and publishes only when it comes", () => {
    const { time, schedules, published, create } = setup();
    const id = create('0 0 1 1 *'); // once a year, 1 January 00:00 UTC
    const tick = Date.UTC(2031, 0, 1);
    expect(sync(schedules.get(id))?.nextScheduleTime).toBe(tick);
    expect(time.delays()).toEqual([2_147_483_647]);
    time.advance(T0 + 2_147_483_647);
    expect(published).toHaveLength(0);
    expect(time.armed()).toEqual([T0 + 2 * 2_147_483_647]);
    time.advance(tick - 1);
    expect(published).toHaveLength(0);
    expect(time.armed()).toEqual([tick]);
    time.advance(tick);
    expect(published.map((x) => x.at)).toEqual([tick]);
    expect(sync(schedules.get(id))?.nextScheduleTime).toBe(Date.UTC(2032, 0, 1));
  });

  it('publishes once when time jumps over several ticks, then keeps to the cron', () => {
    const { time, published, create } = setup();
    create('* * * * *');
    // A timer that runs late (the machine slept): one message, no burst of the missed ones.
    const late = T0 + 10 * MIN;
    time.jump(late);
    expect(published.map((x) => x.at)).toEqual([late]);
    expect(time.armed()).toEqual([Date.UTC(2030, 0, 15, 10, 11)]);
  });

  it('keeps its next ticks when one cannot publish', () => {
    const { time, schedules, published, errors, create, failNext } = setup();
    const id = create('* * * * *');
    failNext();
    time.advance(T0 + 30_000);
    expect(errors).toHaveLength(1);
    expect(sync(schedules.get(id))).toMatchObject({
      lastScheduleTime: T0 + 30_000,
      lastMessageIds: [],
    });
    time.advance(T0 + 90_000);
    expect(published).toHaveLength(1);
  });

  it.each<[string, HeaderBag, string, RegExp]>([
    ['bad cron', { 'upstash-cron': '* * *' }, 'sim://x', /5 fields/],
    ['no cron', {}, 'sim://x', /Upstash-Cron is required/],
    ['bad retries', { 'upstash-cron': '* * * * *', 'upstash-retries': 'x' }, 'sim://x', /Retries/],
    [
      'bad flow control',
      { 'upstash-cron': '* * * * *', 'upstash-flow-control-key': 'k' },
      'sim://x',
      /Flow-Control/i,
    ],
    ['bad delay', { 'upstash-cron': '* * * * *', 'upstash-delay': 'soon' }, 'sim://x', /Delay/],
    ['bad destination', { 'upstash-cron': '* * * * *' }, 'ftp://x', /http, https or sim/],
    ['no destination', { 'upstash-cron': '* * * * *' }, '', /POST \/v2\/schedules/],
    [
      'bad id',
      { 'upstash-cron': '* * * * *', 'upstash-schedule-id': 'a/b' },
      'sim://x',
      /Schedule-Id/,
    ],
  ])('refuses a %s and creates nothing', (_name, headers, dest, message) => {
    const { time, schedules, create } = setup();
    create('* * * * *', { 'upstash-schedule-id': 'keep' });
    const before = sync(schedules.get('keep'));
    expect(() =>
      sync(
        schedules.create(
          dest,
          { ...headers, 'upstash-schedule-id': headers['upstash-schedule-id'] ?? 'keep' },
          undefined,
        ),
      ),
    ).toThrow(message);
    expect(sync(schedules.list())).toHaveLength(1);
    expect(sync(schedules.get('keep'))).toEqual(before);
    expect(time.armed()).toHaveLength(1);
  });

  it('clears every timer on close', () => {
    const { time, schedules, published, create } = setup();
    create('* * * * *');
    create('0 0 1 1 *');
    expect(time.armed()).toHaveLength(2);
    schedules.close();
    expect(time.armed()).toEqual([]);
    time.advance(T0 + 10 * MIN);
    expect(published).toHaveLength(0);
  });
});
