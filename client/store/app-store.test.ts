import { describe, expect, it } from 'vitest';
import type { EngineEvent, SnapshotPayload } from '../../shared/events';
import { keyId, messageId, ms } from '../../shared/engine/units';
import { createAppStore } from './app-store';
import { selectKey, selectKeyNames } from './selectors';

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
