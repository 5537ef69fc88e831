import { describe, expect, it } from 'vitest';
import { messageId } from '../../shared/engine/units';
import { engineHarness } from './engine-harness';
import { applyEvents, fromSnapshot } from './flow-state';
import { Histories, KEEP_POINTS } from './history';

describe('Histories', () => {
  it('records a point per frame for the keys it touched, and the wait of every start', () => {
    const h = engineHarness();
    const histories = new Histories();
    let s = fromSnapshot(h.snapshot());
    const burst = [...h.publish('k', 1), ...h.publish('k', 1), ...h.publish('k', 1)];
    s = applyEvents(s, burst).state;
    histories.recordFrame(s.keys, burst);
    h.advance(250);
    const handoff = h.finish(messageId('msg_1'));
    s = applyEvents(s, handoff).state;
    histories.recordFrame(s.keys, handoff);
    const k = histories.get('k')!;
    expect(k.points.map((p) => [p.inFlight, p.waiting, p.limit])).toEqual([
      [1, 2, 1],
      [1, 1, 1],
    ]);
    expect(k.waits.map((w) => w.waitedMs)).toEqual([0, 250]);
    expect(k.starts).toHaveLength(2);
  });

  it('adds no point when nothing it draws changed', () => {
    const h = engineHarness();
    const histories = new Histories();
    const s = fromSnapshot(h.snapshot());
    const one = applyEvents(s, h.publish('k', 2)).state;
    histories.recordFrame(one.keys, []);
    histories.recordSnapshot(one.keys, 1);
    histories.recordSnapshot(one.keys, 2);
    expect(histories.get('k')!.points).toHaveLength(1);
  });

  it('forgets keys a snapshot no longer holds (a restarted server starts empty)', () => {
    const h = engineHarness();
    h.publish('k', 1);
    const histories = new Histories();
    histories.recordSnapshot(fromSnapshot(h.snapshot()).keys, 1);
    expect(histories.size).toBe(1);
    histories.recordSnapshot({}, 2);
    expect(histories.size).toBe(0);
  });

  it('keeps a bounded number of points per key', () => {
    const h = engineHarness();
    const histories = new Histories();
    let s = fromSnapshot(h.snapshot());
    for (let i = 0; i < KEEP_POINTS * 2; i++) {
      const events = [...h.publish('k', 1)];
      h.advance(10);
      events.push(...h.finish(h.oldestInFlight()));
      s = applyEvents(s, events.slice(0, 2)).state;
      histories.recordFrame(s.keys, events.slice(0, 2));
      s = applyEvents(s, events.slice(2)).state;
      histories.recordFrame(s.keys, events.slice(2));
    }
    const k = histories.get('k')!;
    expect(k.points.length).toBeLessThanOrEqual(KEEP_POINTS * 1.5);
    expect(k.waits.length).toBeLessThanOrEqual(KEEP_POINTS * 1.5);
  });
});
