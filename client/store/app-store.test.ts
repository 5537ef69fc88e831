import { describe, expect, it } from 'vitest';
import type { EngineEvent, SnapshotPayload } from '../../shared/events';
import { keyId, messageId, ms } from '../../shared/engine/units';
import { Histories } from '../../shared/history';
import { createAppStore } from './app-store';
import { engineHarness } from './engine-harness';
import type { LogEntry } from './event-log';
import { selectKey, selectKeyNames, selectVisibleKeys } from './selectors';

const snapshot = (seq: number): SnapshotPayload => ({
  seq,
  at: ms(1000),
  policy: 'fifo',
  engine: {
    globalParallelism: null,
    globalInFlight: 0,
    keys: [],
    stats: { accepted: seq, delivered: 0, dead: 0, cancelled: 0 },
  },
  history: [],
  recentEvents: [],
});

const accepted = (seq: number, key = 'k'): EngineEvent => ({
  type: 'message:accepted',
  seq,
  at: ms(1000 + seq),
  key: keyId(key),
  messageId: messageId(`msg_${seq}`),
});

describe('the app store', () => {
  it('starts connecting and unsynced', () => {
    const s = createAppStore().getState();
    expect(s.connection).toEqual({ status: 'connecting', error: null });
    expect(s.flow.synced).toBe(false);
  });

  it('records connection changes with their reason', () => {
    const store = createAppStore();
    store.getState().connectionChanged('disconnected', 'transport close');
    expect(store.getState().connection).toEqual({
      status: 'disconnected',
      error: 'transport close',
    });
    store.getState().connectionChanged('connected');
    expect(store.getState().connection).toEqual({ status: 'connected', error: null });
  });

  it('applies events after a snapshot and lists the keys they mention', () => {
    const store = createAppStore();
    store.getState().snapshotReceived(snapshot(3));
    expect(store.getState().eventsReceived([accepted(4, 'b'), accepted(5, 'a')])).toBe('applied');
    expect(selectKeyNames(store.getState())).toEqual(['a', 'b']);
    expect(selectKey('a')(store.getState())?.key).toBe('a');
    expect(store.getState().flow.stats.accepted).toBe(5);
  });

  it('answers a gap with resync, and does not notify subscribers of batches it ignores', () => {
    const store = createAppStore();
    store.getState().snapshotReceived(snapshot(3));
    expect(store.getState().eventsReceived([accepted(5)])).toBe('resync');
    let notified = 0;
    store.subscribe(() => notified++);
    expect(store.getState().eventsReceived([accepted(6)])).toBe('ignored');
    expect(notified).toBe(0);
    store.getState().snapshotReceived(snapshot(6));
    expect(store.getState().eventsReceived([accepted(7)])).toBe('applied');
  });
});

describe('coalesced frames', () => {
  /** A burst through a real engine, cut into the batches a server would send. */
  function burst() {
    const h = engineHarness();
    const start = h.snapshot();
    const batches: EngineEvent[][] = [];
    for (let i = 0; i < 6; i++) batches.push(h.publish('k', 3));
    for (let i = 0; i < 4; i++) {
      h.advance(100);
      batches.push(h.finish(h.oldestInFlight()));
    }
    return { h, start, batches };
  }

  it('leaves the same state whether batches come one by one or as one frame', () => {
    const { h, start, batches } = burst();
    const oneByOne = createAppStore();
    oneByOne.getState().snapshotReceived(start, 0);
    for (const b of batches) oneByOne.getState().eventsReceived(b, 0);
    const coalesced = createAppStore();
    coalesced.getState().snapshotReceived(start, 0);
    expect(coalesced.getState().eventsReceived(batches.flat(), 0)).toBe('applied');
    expect(coalesced.getState().flow).toEqual(oneByOne.getState().flow);
    // …and both agree with the server's own picture.
    const truth = createAppStore();
    truth.getState().snapshotReceived(h.snapshot(), 0);
    const k = (s: ReturnType<typeof createAppStore>) => s.getState().flow.keys.k!;
    expect(k(coalesced).inFlight).toBe(k(truth).inFlight);
    expect(k(coalesced).waiting.map((w) => w.messageId)).toEqual(
      k(truth).waiting.map((w) => w.messageId),
    );
    expect(
      k(coalesced)
        .active.map((a) => a.messageId)
        .sort(),
    ).toEqual(
      k(truth)
        .active.map((a) => a.messageId)
        .sort(),
    );
  });

  it('notifies subscribers once per frame, with the frame’s events for the animation layer', () => {
    const { start, batches } = burst();
    const store = createAppStore();
    store.getState().snapshotReceived(start, 0);
    let notified = 0;
    store.subscribe(() => notified++);
    store.getState().eventsReceived(batches.flat(), 0);
    expect(notified).toBe(1);
    expect(store.getState().activity.frameEvents).toHaveLength(batches.flat().length);
    expect(store.getState().log.filter((e) => e.type !== 'snapshot')).toHaveLength(
      batches.flat().length,
    );
  });

  it('logs and charts only the events a frame adds beyond a snapshot it overlaps', () => {
    const { h, start, batches } = burst();
    const store = createAppStore();
    store.getState().snapshotReceived(start, 0);
    store.getState().eventsReceived(batches.slice(0, 3).flat(), 0);
    const mid = h.snapshot();
    store.getState().snapshotReceived(mid, 0);
    store.getState().eventsReceived(batches.flat(), 0);
    const seqs = store
      .getState()
      .log.filter((e) => e.type !== 'snapshot')
      .map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(store.getState().flow.seq).toBe(mid.seq);
  });

  it('converges to a snapshot after a resync, dropping what the old picture held', () => {
    const { h, start, batches } = burst();
    const store = createAppStore();
    store.getState().snapshotReceived(start, 0);
    // A lost batch: the store asks for a resync and ignores frames until the snapshot.
    expect(store.getState().eventsReceived(batches.slice(1).flat(), 0)).toBe('resync');
    expect(store.getState().eventsReceived(batches.flat(), 0)).toBe('ignored');
    store.getState().snapshotReceived(h.snapshot(), 0);
    expect(store.getState().flow.synced).toBe(true);
    expect(store.getState().flow.keys.k!.waitListSize).toBe(
      h.snapshot().engine.keys[0]!.waitListSize,
    );
  });
});

describe('a snapshot with history', () => {
  /** A page open all along, and the server's payload for one opened now. */
  function midBurst() {
    const h = engineHarness();
    const open = createAppStore();
    open.getState().snapshotReceived(h.snapshot(), 0);
    const server = new Histories();
    const recent: EngineEvent[] = [];
    const run = (events: EngineEvent[]) => {
      server.recordRun(events, (k) => h.engine.getKey(k, ms(0), 0));
      recent.push(...events);
      open.getState().eventsReceived(events, 0);
    };
    for (let i = 0; i < 5; i++) run(h.publish('k', 2));
    run(h.advance(300));
    run(h.finish(h.oldestInFlight()));
    run(h.advance(300));
    run(h.finish(h.oldestInFlight()));
    const snap = h.snapshot();
    return {
      h,
      open,
      payload: { ...snap, history: server.toWire(snap.at), recentEvents: recent },
    };
  }

  it('draws the charts and the log a page open all along draws', () => {
    const { open, payload } = midBurst();
    const reloaded = createAppStore();
    reloaded.getState().snapshotReceived(payload, 0);
    const s = reloaded.getState();
    expect(s.histories.get('k')).toEqual(open.getState().histories.get('k'));
    expect(s.histories.get('k')!.starts).toHaveLength(4);
    const events = (log: readonly LogEntry[]) => log.filter((e) => e.type !== 'snapshot');
    expect(events(s.log)).toEqual(events(open.getState().log));
    expect(s.log.at(-1)).toMatchObject({ type: 'snapshot', seq: payload.seq });
    expect(selectVisibleKeys(s)).toEqual(['k']);
  });

  it('replaces what the page held, as often as snapshots come', () => {
    const { h, open, payload } = midBurst();
    const before = open.getState().histories.get('k');
    open.getState().snapshotReceived(payload, 0);
    open.getState().snapshotReceived(payload, 0);
    expect(open.getState().histories.get('k')).toEqual(before);
    const seqs = open
      .getState()
      .log.filter((e) => e.type !== 'snapshot')
      .map((e) => e.seq);
    expect(seqs).toEqual(payload.recentEvents.map((e) => e.seq));
    // The page goes on from the snapshot as before.
    expect(open.getState().eventsReceived(h.publish('k', 2), 0)).toBe('applied');
  });

  it('starts empty from a restarted server, which has no history', () => {
    const { open } = midBurst();
    open.getState().snapshotReceived(snapshot(0), 0);
    expect(open.getState().histories.size).toBe(0);
  });
});

describe('the ui slice', () => {
  it('toggles selected keys and follows the latest keys when none is selected', () => {
    const store = createAppStore();
    store.getState().snapshotReceived(snapshot(0), 0);
    store.getState().eventsReceived([accepted(1, 'a'), accepted(2, 'b')], 0);
    expect(selectVisibleKeys(store.getState())).toEqual(['a', 'b']);
    store.getState().keyToggled('b');
    expect(selectVisibleKeys(store.getState())).toEqual(['b']);
    store.getState().triggerPublished('c');
    expect(store.getState().selected).toEqual(['b', 'c']);
    store.getState().keyToggled('b');
    store.getState().selectionCleared();
    expect(selectVisibleKeys(store.getState())).toEqual(['a', 'b']);
  });

  it('sorts by a new column largest first, and flips on a second click', () => {
    const store = createAppStore();
    store.getState().sortRequested('waiting');
    expect(store.getState().sort).toEqual({ column: 'waiting', descending: true });
    store.getState().sortRequested('waiting');
    expect(store.getState().sort).toEqual({ column: 'waiting', descending: false });
    store.getState().sortRequested('key');
    expect(store.getState().sort).toEqual({ column: 'key', descending: false });
  });
});
