import type { StateCreator } from 'zustand/vanilla';
import type { EngineEvent, SnapshotPayload } from '../../shared/events';
import { Histories } from '../../shared/history';
import { followedKeys, initialActivity, recordActivity, type Activity } from './activity';
import { appendLog, logAfterSnapshot, type LogEntry } from './event-log';
import {
  applyEvents,
  fromSnapshot,
  initialFlowState,
  type EventsOutcome,
  type FlowState,
} from './flow-state';
import type { AppState } from './app-store';

/** The engine as the dashboard sees it, moved by what the server sends. */
export interface FlowSlice {
  flow: FlowState;
  /** What the latest frames did: the frame's events, refused arrivals, recently busy keys. */
  activity: Activity;
  /** The latest events and snapshot marks, oldest first. */
  log: readonly LogEntry[];
  /** Per-key history for the charts; mutated in place, so read it when `historyVersion` moves. */
  histories: Histories;
  historyVersion: number;
  /**
   * The server sent a snapshot: it replaces everything the client held, the history included
   * (the server keeps the same history, so a page opened mid-burst draws its last minutes too),
   * and brings the log's latest events. `receivedAt` is the page's clock on arrival (for the
   * clock offset and the drawings' timing).
   */
  snapshotReceived(payload: SnapshotPayload, receivedAt?: number): void;
  /**
   * The server sent events: one batch, or several coalesced into one animation frame. Returns
   * `resync` when they could not be applied (a gap in `seq`): the caller, which owns the socket,
   * asks the server for a snapshot.
   */
  eventsReceived(batch: readonly EngineEvent[], receivedAt?: number): EventsOutcome;
}

export const createFlowSlice: StateCreator<AppState, [], [], FlowSlice> = (set, get) => ({
  flow: initialFlowState,
  activity: initialActivity,
  log: [],
  histories: new Histories(),
  historyVersion: 0,
  snapshotReceived: (payload, receivedAt = Date.now()) => {
    const flow = fromSnapshot(payload, receivedAt);
    const s = get();
    s.histories.replaceWith(payload.history);
    s.histories.ensurePoints(flow.keys, flow.at);
    // A page that follows no key yet (just opened) follows those an open page would follow.
    const followed =
      s.activity.recentKeys.length > 0
        ? s.activity
        : followedKeys(payload.recentEvents, flow.clockOffsetMs);
    set({
      flow,
      // A snapshot is a new picture, not a movement: nothing in it is animated.
      activity: {
        ...initialActivity,
        frame: s.activity.frame + 1,
        recentKeys: followed.recentKeys,
        recentSince: followed.recentSince,
      },
      log: logAfterSnapshot(s.log, payload.recentEvents, {
        type: 'snapshot',
        seq: payload.seq,
        at: payload.at,
        key: '',
        keys: payload.engine.keys.length,
      }),
      historyVersion: s.historyVersion + 1,
    });
  },
  eventsReceived: (batch, receivedAt = Date.now()) => {
    const s = get();
    const { state, outcome } = applyEvents(s.flow, batch, (run, keyAfter) =>
      s.histories.recordRun(run, keyAfter),
    );
    if (outcome !== 'applied') {
      // The runs before a gap were recorded; the snapshot asked for replaces them anyway.
      if (state !== s.flow) set({ flow: state });
      return outcome;
    }
    // Only the events the state did not have yet: a coalesced frame may overlap a snapshot.
    const fresh = batch.filter((e) => e.seq > s.flow.seq && e.seq <= state.seq);
    set({
      flow: state,
      activity: recordActivity(s.activity, fresh, receivedAt),
      log: appendLog(s.log, fresh),
      historyVersion: s.historyVersion + 1,
    });
    return outcome;
  },
});
