import { describe, expect, it } from 'vitest';
import type { EngineEvent } from './events';
import { FlowEngine } from './engine/engine';
import { keyId, messageId, ms, type KeyId } from './engine/units';
import { KEEP_POINTS, POINT_MS, RECENT_EVENTS } from './history';
import { MAX_KEYS, RecentActivity } from './recent-activity';

/** A real engine whose every command is recorded, as the stream records the controller's. */
function recorded(options: { maxKeys?: number; events?: number } = {}) {
  const engine = new FlowEngine();
  let now = 1_000_000;
  const reads: string[] = [];
  const recent = new RecentActivity((k) => {
    reads.push(k);
    return engine.getKey(k, ms(now), 0);
  }, options);
  let n = 0;
  const handles = new Map<string, ReturnType<FlowEngine['publish']>['message']>();
  const publish = (key: string, parallelism = 1) => {
    const id = `msg_${++n}`;
    const a = engine.publish(
      { id: messageId(id), key: keyId(key), config: { parallelism } },
      ms(now),
    );
    handles.set(id, a.message);
    recent.record(a.events);
    return a.events;
  };
  const finish = (id: string) =>
    recent.record(engine.finish(handles.get(id)!, { ok: true }, ms(now)));
  const advance = (by: number) => (now += by);
  return { engine, recent, reads, publish, finish, advance, now: () => now };
}

describe('RecentActivity', () => {
  it('keeps the latest events, oldest first, up to a snapshot’s seq', () => {
    const r = recorded({ events: 5 });
    for (let i = 0; i < 4; i++) r.publish('k');
    const seqs = r.recent.events().map((e) => e.seq);
    // The first publish: accepted, configured, acquired; each next one: accepted, waitlisted.
    expect(seqs).toEqual([5, 6, 7, 8, 9]);
    expect(r.recent.events(7).map((e) => e.seq)).toEqual([5, 6, 7]);
  });

  it('records each event once, however often the same batch comes', () => {
    const r = recorded();
    const events = r.publish('k');
    r.recent.record(events);
    expect(r.recent.events()).toHaveLength(events.length);
    expect(r.recent.history(r.now())[0]!.starts).toHaveLength(2);
  });

  it('keeps each key’s history as the page records it: a point per bucket, a start per start', () => {
    const r = recorded();
    r.publish('k', 1);
    r.publish('k', 1);
    r.advance(250);
    r.finish('msg_1');
    const [k] = r.recent.history(r.now());
    expect(k!.key).toBe('k');
    // 1 in flight and 1 waiting, limit 1; 250 ms later the handoff: 1 in flight, none waiting.
    expect(k!.points).toEqual([1_000_000, 1, 1, 1, 250, 1, 0, 1]);
    expect(k!.starts).toEqual([1_000_000, 0, 250, 250]);
  });

  it('reads a key from the store when it becomes active, not at every command', () => {
    const r = recorded({ maxKeys: 2 });
    for (let i = 0; i < 50; i++) {
      r.publish('a', 3);
      r.publish('b', 3);
      r.advance(30);
    }
    r.publish('c');
    // c makes way for itself by dropping a, whose counts are read again when it comes back.
    r.publish('a', 3);
    expect(r.reads).toEqual(['a', 'b', 'c', 'a']);
  });

  it('holds at most maxKeys keys, the most recently active', () => {
    const r = recorded({ maxKeys: 3 });
    for (const key of ['a', 'b', 'c', 'd', 'b']) {
      r.publish(key);
      r.advance(10);
    }
    expect(r.recent.history(r.now()).map((w) => w.key)).toEqual(['b', 'd', 'c']);
  });

  it('holds nothing per waiting message', () => {
    const r = recorded();
    r.engine.pause(keyId('w'), ms(r.now()));
    for (let i = 0; i < 20_000; i++) {
      r.publish('w');
      // About 30 commands a millisecond, as a batch publish goes.
      if (i % 30 === 0) r.advance(1);
    }
    const [w] = r.recent.history(r.now());
    expect(r.engine.getKey(keyId('w'), ms(r.now()), 0)!.waitListSize).toBe(20_000);
    // One point per bucket of the ~670 ms it took (at most 1.5 × KEEP_POINTS between trims).
    expect(w!.points.length / 4).toBeLessThanOrEqual(Math.ceil(670 / POINT_MS) + 1);
    expect(w!.starts).toEqual([]);
    expect(r.recent.events()).toHaveLength(RECENT_EVENTS);
  });

  it(`sends at most a bounded snapshot, with ${MAX_KEYS} keys busy at every bucket`, () => {
    // The worst case: every key held busy, changing and starting at every bucket for a whole
    // minute, so each holds its KEEP_POINTS points and starts.
    const recent = new RecentActivity(() => ({ inFlight: 0, waitListSize: 0, parallelism: 8 }));
    let seq = 0;
    const t0 = 1_700_000_000_000;
    // Thousands of keys with a message each come first: they make way.
    for (let i = 0; i < 5000; i++)
      recent.record([started(keyId(`once-${i}`), ++seq, t0 - 1, 0, 1)]);
    expect(recent.keys).toBe(MAX_KEYS);
    const keys = Array.from({ length: MAX_KEYS }, (_, i) => keyId(`user-${i}-signup`));
    let state = 0;
    for (let b = 0; b < KEEP_POINTS; b++) {
      for (const key of keys) {
        state++;
        const at = t0 + b * POINT_MS + (state % 50);
        recent.record([
          waitlisted(key, ++seq, at, (state % 13) + 1),
          started(key, ++seq, at, state % 2000, (state % 7) + 1),
        ]);
      }
    }
    const now = t0 + KEEP_POINTS * POINT_MS;
    const history = recent.history(now);
    expect(history.map((k) => k.key).sort()).toEqual([...keys].sort());
    for (const k of history) {
      expect(k.points.length / 4).toBe(KEEP_POINTS);
      expect(k.starts.length / 2).toBe(KEEP_POINTS);
    }
    const historyBytes = JSON.stringify(history).length;
    const eventsBytes = JSON.stringify(recent.events()).length;
    process.stdout.write(
      `recent-activity.test: ${MAX_KEYS} keys × ${KEEP_POINTS} points and starts: history ${(historyBytes / 1e6).toFixed(2)} MB, ` +
        `${RECENT_EVENTS} events ${(eventsBytes / 1e3).toFixed(0)} kB\n`,
    );
    expect(historyBytes).toBeLessThan(MAX_KEYS * 12_500);
    expect(eventsBytes).toBeLessThan(RECENT_EVENTS * 250);
  });
});

function started(
  key: KeyId,
  seq: number,
  at: number,
  waitedMs: number,
  inFlight: number,
): EngineEvent {
  return {
    type: 'token:acquired',
    seq,
    at: ms(at),
    key,
    messageId: messageId(`msg_${seq}`),
    attempt: 0,
    inFlight,
    waitedMs: ms(waitedMs),
  };
}

function waitlisted(key: KeyId, seq: number, at: number, position: number): EngineEvent {
  return {
    type: 'message:waitlisted',
    seq,
    at: ms(at),
    key,
    messageId: messageId(`msg_${seq}`),
    reason: 'parallelism',
    position,
  };
}
