import { describe, expect, it } from 'vitest';
import type { EngineEvent } from './events';
import { keyId, messageId, ms } from './engine/units';
import { Histories, KEEP_MS, KEEP_POINTS, POINT_MS, type KeyLoad } from './history';

let seq = 0;
const base = (key: string, at: number) => ({ seq: ++seq, at: ms(at), key: keyId(key) });
const accepted = (key: string, at: number): EngineEvent => ({
  type: 'message:accepted',
  ...base(key, at),
  messageId: messageId(`msg_${seq}`),
});
const acquired = (key: string, at: number, waitedMs = 0): EngineEvent => ({
  type: 'token:acquired',
  ...base(key, at),
  messageId: messageId(`msg_${seq}`),
  attempt: 0,
  inFlight: 1,
  waitedMs: ms(waitedMs),
});
const forgotten = (key: string, at: number): EngineEvent => ({
  type: 'key:forgotten',
  ...base(key, at),
});

const load = (inFlight: number, waiting: number, limit: number | null = 2): KeyLoad => ({
  inFlight,
  waitListSize: waiting,
  parallelism: limit,
});
/** Every key stands at `l` after the run. */
const all = (l: KeyLoad) => () => l;
const values = (h: Histories, key: string) =>
  h.get(key)!.points.map((p) => [p.t, p.inFlight, p.waiting]);

describe('Histories', () => {
  it('keeps one point per bucket: the state at its end, at the time of its last event', () => {
    const h = new Histories();
    h.recordRun([accepted('k', 1000)], all(load(1, 0)));
    h.recordRun([accepted('k', 1040)], all(load(1, 1)));
    h.recordRun([accepted('k', 1099)], all(load(1, 2)));
    h.recordRun([accepted('k', 1100)], all(load(1, 3)));
    expect(values(h, 'k')).toEqual([
      [1099, 1, 2],
      [1100, 1, 3],
    ]);
  });

  it('adds no point when nothing it draws changed, and none for a bucket that ends where it began', () => {
    const h = new Histories();
    h.recordRun([accepted('k', 1000)], all(load(1, 0)));
    h.recordRun([accepted('k', 1200)], all(load(1, 0)));
    h.recordRun([accepted('k', 1300)], all(load(2, 0)));
    h.recordRun([accepted('k', 1350)], all(load(1, 0)));
    expect(values(h, 'k')).toEqual([[1000, 1, 0]]);
  });

  it('records the wait and the time of every start', () => {
    const h = new Histories();
    h.recordRun([acquired('k', 1000), acquired('k', 1000, 250)], all(load(2, 0)));
    expect(h.get('k')!.waits).toEqual([
      { at: 1000, waitedMs: 0 },
      { at: 1000, waitedMs: 250 },
    ]);
    expect(h.get('k')!.starts).toEqual([1000, 1000]);
  });

  it('records the same whatever the runs, as long as each lies within one bucket', () => {
    const events = [
      accepted('a', 1000),
      acquired('a', 1010),
      accepted('b', 1020),
      accepted('a', 1150),
      acquired('b', 1160, 140),
    ];
    // The state of each key after each event.
    const after = [
      { a: load(0, 1) },
      { a: load(1, 0) },
      { a: load(1, 0), b: load(0, 1) },
      { a: load(1, 1), b: load(0, 1) },
      { a: load(1, 1), b: load(1, 0) },
    ] as Record<string, KeyLoad>[];
    const oneByOne = new Histories();
    events.forEach((e, i) => oneByOne.recordRun([e], (k) => after[i]![k]));
    const byBucket = new Histories();
    byBucket.recordRun(events.slice(0, 3), (k) => after[2]![k]);
    byBucket.recordRun(events.slice(3), (k) => after[4]![k]);
    expect(byBucket.toWire(2000)).toEqual(oneByOne.toWire(2000));
    expect(values(byBucket, 'a')).toEqual([
      [1010, 1, 0],
      [1150, 1, 1],
    ]);
  });

  it('forgets a key the engine forgot; a later message brings it back new', () => {
    const h = new Histories();
    h.recordRun([acquired('k', 1000)], all(load(1, 0)));
    h.recordRun([forgotten('k', 5000)], () => undefined);
    expect(h.get('k')).toBeUndefined();
    h.recordRun([forgotten('k', 6000), accepted('k', 6000)], all(load(0, 1)));
    expect(values(h, 'k')).toEqual([[6000, 0, 1]]);
    expect(h.get('k')!.starts).toEqual([]);
  });

  it('keeps a bounded number of points and starts per key', () => {
    const h = new Histories();
    for (let i = 0; i < KEEP_POINTS * 3; i++) {
      h.recordRun([acquired('k', i * POINT_MS)], all(load(i % 2, 0)));
    }
    const k = h.get('k')!;
    expect(k.points.length).toBeLessThanOrEqual(KEEP_POINTS * 1.5);
    expect(k.waits.length).toBeLessThanOrEqual(KEEP_POINTS * 1.5);
    expect(k.starts.length).toBe(k.waits.length);
  });

  describe('with maxKeys and idleMs', () => {
    it('drops the least recently active keys past maxKeys', () => {
      const h = new Histories({ maxKeys: 2 });
      h.recordRun([accepted('a', 1000)], all(load(0, 1)));
      h.recordRun([accepted('b', 2000)], all(load(0, 1)));
      h.recordRun([accepted('a', 3000)], all(load(0, 2)));
      h.recordRun([accepted('c', 4000)], all(load(0, 1)));
      expect([...h.names()]).toEqual(['a', 'c']);
    });

    it('drops keys idle longer than idleMs', () => {
      const h = new Histories({ idleMs: KEEP_MS });
      h.recordRun([accepted('a', 1000)], all(load(0, 1)));
      h.recordRun([accepted('b', 2000 + KEEP_MS)], all(load(0, 1)));
      expect([...h.names()]).toEqual(['b']);
      h.forgetIdle(3000 + 2 * KEEP_MS);
      expect(h.size).toBe(0);
    });
  });

  describe('on the wire', () => {
    it('comes back as it was, most recently active first', () => {
      const h = new Histories();
      h.recordRun([acquired('a', 1_000_000, 30)], all(load(1, 0, null)));
      h.recordRun([accepted('b', 1_000_200)], all(load(0, 4)));
      h.recordRun([acquired('b', 1_000_300, 100)], all(load(1, 3)));
      const wire = h.toWire(1_000_400);
      expect(wire.map((w) => w.key)).toEqual(['b', 'a']);
      expect(wire[0]!.points).toEqual([1_000_200, 0, 4, 2, 100, 1, 3, 2]);
      const copy = new Histories();
      copy.replaceWith(wire);
      expect([...copy.names()]).toEqual(['a', 'b']);
      for (const key of ['a', 'b']) expect(copy.get(key)).toEqual(h.get(key));
    });

    it('leaves out what is older than KEEP_MS, but not the point still in force', () => {
      const h = new Histories();
      h.recordRun([acquired('k', 1000)], all(load(1, 0)));
      h.recordRun([accepted('k', 2000)], all(load(1, 1)));
      const [k] = h.toWire(2000 + KEEP_MS);
      expect(k!.points).toEqual([2000, 1, 1, 2]);
      expect(k!.starts).toEqual([]);
    });

    it('replaces everything held: a restarted server has nothing', () => {
      const h = new Histories();
      h.recordRun([accepted('k', 1000)], all(load(0, 1)));
      h.replaceWith([]);
      expect(h.size).toBe(0);
    });
  });

  it('gives a key a point at a snapshot unless its history already ends with its state', () => {
    const h = new Histories();
    h.recordRun([accepted('k', 1000)], all(load(1, 1)));
    h.ensurePoints({ k: load(1, 1), idle: load(0, 0) }, 5000);
    expect(values(h, 'k')).toEqual([[1000, 1, 1]]);
    expect(values(h, 'idle')).toEqual([[5000, 0, 0]]);
  });
});
