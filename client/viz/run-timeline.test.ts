import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../shared/events';
import { keyId, messageId, ms } from '../../shared/engine/units';
import { TimelineBuilder, summarize } from './run-timeline';

const key = keyId('k');
let seq = 0;
const base = (at: number) => ({ seq: ++seq, at: ms(at), key });
const id = messageId;

const events: EngineEvent[] = [
  { type: 'message:accepted', ...base(1000), messageId: id('a') },
  { type: 'message:accepted', ...base(1000), messageId: id('b') },
  {
    type: 'token:acquired',
    ...base(1000),
    messageId: id('a'),
    attempt: 0,
    inFlight: 1,
    waitedMs: ms(0),
  },
  {
    type: 'message:waitlisted',
    ...base(1000),
    messageId: id('b'),
    reason: 'parallelism',
    position: 1,
  },
  {
    type: 'delivery:failed',
    ...base(1500),
    messageId: id('a'),
    attempt: 0,
    durationMs: ms(500),
    retryAt: ms(3000),
  },
  {
    type: 'token:handed-off',
    ...base(1500),
    from: id('a'),
    to: id('b'),
    attempt: 0,
    waitedMs: ms(500),
  },
  {
    type: 'delivery:succeeded',
    ...base(2000),
    messageId: id('b'),
    attempt: 0,
    durationMs: ms(500),
  },
  { type: 'message:delivered', ...base(2000), messageId: id('b') },
  {
    type: 'token:acquired',
    ...base(3000),
    messageId: id('a'),
    attempt: 1,
    inFlight: 1,
    waitedMs: ms(0),
  },
  {
    type: 'delivery:succeeded',
    ...base(3400),
    messageId: id('a'),
    attempt: 1,
    durationMs: ms(400),
  },
  { type: 'message:delivered', ...base(3400), messageId: id('a') },
];

describe('TimelineBuilder', () => {
  it('reads each message’s attempts from the events: ready, started, ended, retried', () => {
    const b = new TimelineBuilder();
    events.forEach((e) => b.add(e));
    expect(b.firstArrival(['a', 'b'])).toBe(1000);
    expect(b.rows(['a', 'b'], 1000)).toEqual([
      {
        id: 'a',
        arrivedAt: 0,
        attempts: [
          { readyAt: 0, startAt: 0, endAt: 500, ok: false },
          { readyAt: 2000, startAt: 2000, endAt: 2400, ok: true },
        ],
        outcome: 'delivered',
      },
      {
        id: 'b',
        arrivedAt: 0,
        attempts: [{ readyAt: 0, startAt: 500, endAt: 1000, ok: true }],
        outcome: 'delivered',
      },
    ]);
  });

  it('leaves out ids it has no events of, and ignores events of messages it never saw accepted', () => {
    const b = new TimelineBuilder();
    events.slice(2).forEach((e) => b.add(e));
    expect(b.rows(['a', 'b', 'c'], 0)).toEqual([]);
    expect(b.size).toBe(0);
  });
});

describe('summarize', () => {
  it('states the total, the longest wait and who waited it once every request has ended', () => {
    const b = new TimelineBuilder();
    events.forEach((e) => b.add(e));
    expect(summarize(b.rows(['a', 'b'], 1000))).toEqual({
      totalMs: 2400,
      lastEndMs: 2400,
      longestWaitMs: 500,
      longestWaitRow: 1,
      ended: 2,
      failedAttempts: 1,
    });
  });

  it('has no total while a request is still out, or when some were never seen', () => {
    const b = new TimelineBuilder();
    events.slice(0, 7).forEach((e) => b.add(e));
    const rows = b.rows(['a', 'b'], 1000);
    expect(summarize(rows)).toMatchObject({ totalMs: null, lastEndMs: 1000, ended: 0 });
    const all = new TimelineBuilder();
    events.forEach((e) => all.add(e));
    expect(summarize(all.rows(['b'], 1000), 2).totalMs).toBeNull();
  });
});
