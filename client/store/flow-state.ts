/**
 * The dashboard's picture of the engine, and the pure functions that keep it current: a snapshot
 * replaces it, each batch of events moves it forward. No React, no zustand, no socket here, so the
 * rules are unit-tested as plain functions.
 */
import type { EngineEvent, SnapshotPayload, WorkflowTag } from '../../shared/events';
import type { KeySnapshot } from '../../shared/engine/types';
import type { KeyId, Millis } from '../../shared/engine/units';
import { POINT_MS } from '../../shared/history';
import { applyEvent, Batch } from './apply-event';
import { VISIBLE_WAITERS, type EventsOutcome, type FlowState, type KeyView } from './flow-types';

export * from './flow-types';

export const initialFlowState: FlowState = {
  synced: false,
  seq: 0,
  at: 0 as Millis,
  policy: 'fifo',
  globalParallelism: null,
  globalInFlight: 0,
  stats: { accepted: 0, delivered: 0, dead: 0, cancelled: 0 },
  keys: {},
  workflows: {},
  clockOffsetMs: 0,
};

/** The key as the page holds it; its messages' Workflow steps go to `workflows`. */
function keyFromSnapshot(k: KeySnapshot, workflows: Record<string, WorkflowTag>): KeyView {
  // `blockedBy` is derived again from the key's state wherever the page shows it.
  const { active, waiting, blockedBy: _blockedBy, ...limitsAndCounts } = k;
  return {
    ...limitsAndCounts,
    active: active.map(({ workflow, ...a }, i) => {
      if (workflow !== undefined) workflows[a.messageId] = workflow;
      return { ...a, token: i + 1, via: 'snapshot' as const };
    }),
    waiting: waiting.slice(0, VISIBLE_WAITERS).map(({ workflow, ...w }) => {
      if (workflow !== undefined) workflows[w.messageId] = workflow;
      return w;
    }),
    freedAt: {},
  };
}

/**
 * The state a snapshot describes; whatever the client held before is replaced. `receivedAt` is the
 * page's clock when it arrived (it sets `clockOffsetMs`; without it the clocks are taken as equal).
 */
export function fromSnapshot(payload: SnapshotPayload, receivedAt?: number): FlowState {
  const keys: Record<string, KeyView> = {};
  const workflows: Record<string, WorkflowTag> = {};
  for (const k of payload.engine.keys) keys[k.key] = keyFromSnapshot(k, workflows);
  return {
    synced: true,
    seq: payload.seq,
    at: payload.at,
    policy: payload.policy,
    globalParallelism: payload.engine.globalParallelism,
    globalInFlight: payload.engine.globalInFlight,
    stats: { ...payload.engine.stats },
    keys,
    workflows,
    clockOffsetMs: receivedAt === undefined ? 0 : payload.at - receivedAt,
  };
}

/**
 * Told of the events applied, in runs that each lie within one POINT_MS bucket of server time,
 * with each key's view as it stands at the run's end (the history records that; see
 * shared/history.ts). Called synchronously, in order, during `applyEvents`.
 */
export type RunListener = (
  run: readonly EngineEvent[],
  keyAfter: (key: KeyId) => KeyView | undefined,
) => void;

/**
 * Applies a batch of events. Events at or below the state's `seq` are skipped (already applied);
 * a gap in `seq` leaves the state as it was, marks it unsynced and asks for a resync. So does a
 * key whose visible waiters ran out while more wait: only a snapshot can say who they are.
 * `onRun` hears the applied events bucket by bucket (up to a gap, if there is one).
 */
export function applyEvents(
  state: FlowState,
  batch: readonly EngineEvent[],
  onRun?: RunListener,
): { state: FlowState; outcome: EventsOutcome } {
  if (!state.synced) return { state, outcome: 'ignored' };
  const out: FlowState = { ...state, stats: { ...state.stats } };
  const b = new Batch(state.keys, state.workflows);
  const keyAfter = (key: KeyId) =>
    b.forgotten.has(key) ? undefined : (b.drafts.get(key) ?? state.keys[key]);
  let run: EngineEvent[] = [];
  const endRun = () => {
    if (onRun !== undefined && run.length > 0) onRun(run, keyAfter);
    run = [];
  };
  let applied = 0;
  for (const e of batch) {
    if (e.seq <= out.seq) continue;
    if (e.seq !== out.seq + 1) {
      endRun();
      return { state: { ...state, synced: false }, outcome: 'resync' };
    }
    const last = run[run.length - 1];
    if (last !== undefined && Math.floor(last.at / POINT_MS) !== Math.floor(e.at / POINT_MS))
      endRun();
    applyEvent(out, b, e);
    out.seq = e.seq;
    out.at = e.at;
    if (onRun !== undefined) run.push(e);
    applied++;
  }
  endRun();
  if (applied === 0) return { state, outcome: 'ignored' };
  out.keys = { ...state.keys };
  out.workflows = b.workflows;
  for (const id of b.forgotten) delete out.keys[id];
  let refill = false;
  for (const [id, d] of b.drafts) {
    out.keys[id] = d;
    const before = state.keys[id];
    if (before !== undefined && before.waiting.length > 0 && d.waiting.length === 0) {
      refill ||= d.waitListSize > 0;
    }
  }
  if (refill) return { state: { ...out, synced: false }, outcome: 'resync' };
  return { state: out, outcome: 'applied' };
}
