import type { StateCreator } from 'zustand/vanilla';
import type { EngineEvent, SnapshotPayload } from '../../shared/events';
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
  /** The server sent a snapshot: it replaces everything the client held. */
  snapshotReceived(payload: SnapshotPayload): void;
  /**
   * The server sent a batch of events. Returns `resync` when the batch could not be applied (a
   * gap in `seq`): the caller, which owns the socket, asks the server for a snapshot.
   */
  eventsReceived(batch: readonly EngineEvent[]): EventsOutcome;
}

export const createFlowSlice: StateCreator<AppState, [], [], FlowSlice> = (set, get) => ({
  flow: initialFlowState,
  snapshotReceived: (payload) => set({ flow: fromSnapshot(payload) }),
  eventsReceived: (batch) => {
    const { state, outcome } = applyEvents(get().flow, batch);
    if (state !== get().flow) set({ flow: state });
    return outcome;
  },
});
