/**
 * How each engine event moves the dashboard's picture of the engine. Works on a batch's mutable
 * drafts (see `Batch`); `applyEvents` in flow-state.ts makes the drafts and checks `seq`.
 */
import type { EngineEvent, WorkflowTag } from '../../shared/events';
import { DEFAULT_PERIOD, type KeyId, type MessageId, type Millis } from '../../shared/engine/units';
import { VISIBLE_WAITERS, type ActiveRequest, type FlowState, type KeyView } from './flow-types';

/** A key first seen in an event: unlimited until a `key:configured` says otherwise. */
function emptyKey(key: KeyId, at: Millis): KeyView {
  return {
    key,
    parallelism: null,
    rate: null,
    periodMs: DEFAULT_PERIOD,
    pinnedParallelism: false,
    pinnedRate: false,
    paused: false,
    inFlight: 0,
    rateCount: 0,
    ratePeriodStart: at,
    waitListSize: 0,
    scheduled: 0,
    active: [],
    waiting: [],
    freedAt: {},
  };
}

/** The lowest token number no active request holds. */
function freeToken(k: KeyView): number {
  const held = new Set(k.active.map((a) => a.token));
  let n = 1;
  while (held.has(n)) n++;
  return n;
}

/** Takes a message off the waitlist, whether or not it is among the visible waiters. */
function leaveWaitlist(k: KeyView, id: MessageId): void {
  const i = k.waiting.findIndex((w) => w.messageId === id);
  if (i >= 0) k.waiting.splice(i, 1);
  k.waitListSize = Math.max(0, k.waitListSize - 1);
}

function leaveScheduled(k: KeyView): void {
  k.scheduled = Math.max(0, k.scheduled - 1);
}

/** Mutable working copies of the keys one batch touches; the input state is never mutated. */
export class Batch {
  readonly drafts = new Map<string, KeyView>();
  /** Messages accepted in this batch and ready at once: they did not come from `scheduled`. */
  readonly fresh = new Set<MessageId>();
  /** Messages that joined the waitlist in this batch. */
  readonly queued = new Set<MessageId>();

  /** Keys the server forgot in this batch (and that no later event of it brought back). */
  readonly forgotten = new Set<string>();

  /** A copy of the state's Workflow steps, made when the batch first changes them. */
  private steps: Record<string, WorkflowTag> | null = null;

  constructor(
    private readonly keys: Record<string, KeyView>,
    private readonly before: Readonly<Record<string, WorkflowTag>> = {},
  ) {}

  /** The Workflow step of each live message, after the batch so far. */
  get workflows(): Readonly<Record<string, WorkflowTag>> {
    return this.steps ?? this.before;
  }

  tag(id: MessageId, workflow: WorkflowTag): void {
    this.steps ??= { ...this.before };
    this.steps[id] = workflow;
  }

  /** Forgets an ended message's step (nothing is copied for a message that was none). */
  untag(id: MessageId): void {
    if (!Object.hasOwn(this.workflows, id)) return;
    this.steps ??= { ...this.before };
    delete this.steps[id];
  }

  key(id: KeyId, at: Millis): KeyView {
    let d = this.drafts.get(id);
    if (d === undefined) {
      // A key forgotten earlier in the batch comes back new, not as it was.
      const base = (this.forgotten.delete(id) ? undefined : this.keys[id]) ?? emptyKey(id, at);
      d = { ...base, active: [...base.active], waiting: [...base.waiting] };
      this.drafts.set(id, d);
    }
    return d;
  }
}

/** Moves the state forward by one event (mutating the batch's drafts and `out`). */
export function applyEvent(out: FlowState, b: Batch, e: EngineEvent): void {
  if (e.type === 'global:configured') {
    out.globalParallelism = e.parallelism;
    return;
  }
  if (e.type === 'key:forgotten') {
    b.drafts.delete(e.key);
    b.forgotten.add(e.key);
    return;
  }
  const k = b.key(e.key, e.at);
  switch (e.type) {
    case 'message:accepted':
      out.stats.accepted++;
      if (e.notBefore !== undefined) k.scheduled++;
      else b.fresh.add(e.messageId);
      if (e.workflow !== undefined) b.tag(e.messageId, e.workflow);
      break;
    case 'message:waitlisted':
      if (!b.fresh.has(e.messageId)) leaveScheduled(k);
      b.queued.add(e.messageId);
      // Shown only when it lines up right behind the last visible waiter; past a truncated
      // list it is just counted. (The event has no attempt; retries show as 0 until a snapshot.)
      if (e.position === k.waiting.length + 1 && e.position <= VISIBLE_WAITERS) {
        k.waiting.push({ messageId: e.messageId, attempt: 0, readyAt: e.at, reason: e.reason });
      }
      k.waitListSize = e.position;
      break;
    case 'token:acquired': {
      const waited =
        b.queued.has(e.messageId) ||
        e.waitedMs > 0 ||
        k.waiting.some((w) => w.messageId === e.messageId);
      if (waited) leaveWaitlist(k, e.messageId);
      else if (!b.fresh.has(e.messageId)) leaveScheduled(k);
      k.active.push({
        messageId: e.messageId,
        attempt: e.attempt,
        startedAt: e.at,
        token: freeToken(k),
        via: 'acquired',
      });
      k.inFlight = e.inFlight;
      out.globalInFlight++;
      if (e.rateCount !== undefined) k.rateCount = e.rateCount;
      if (e.ratePeriodStart !== undefined) k.ratePeriodStart = e.ratePeriodStart;
      break;
    }
    case 'token:handed-off': {
      const i = k.active.findIndex((a) => a.messageId === e.from);
      const token = i >= 0 ? (k.active[i] as ActiveRequest).token : freeToken(k);
      const next: ActiveRequest = {
        messageId: e.to,
        attempt: e.attempt,
        startedAt: e.at,
        token,
        via: 'handoff',
      };
      // The new holder takes the finished request's place, so the token stays where it was drawn.
      if (i >= 0) k.active.splice(i, 1, next);
      else k.active.push(next);
      leaveWaitlist(k, e.to);
      if (e.rateCount !== undefined) k.rateCount = e.rateCount;
      if (e.ratePeriodStart !== undefined) k.ratePeriodStart = e.ratePeriodStart;
      break;
    }
    case 'token:released': {
      const held = k.active.find((a) => a.messageId === e.messageId);
      if (held !== undefined) k.freedAt = { ...k.freedAt, [held.token]: e.at };
      k.active = k.active.filter((a) => a.messageId !== e.messageId);
      k.inFlight = e.inFlight;
      out.globalInFlight = Math.max(0, out.globalInFlight - 1);
      break;
    }
    case 'delivery:failed':
      if (e.retryAt !== null) {
        k.scheduled++;
        // Its next start comes out of `scheduled`, even within the batch that accepted it.
        b.fresh.delete(e.messageId);
        b.queued.delete(e.messageId);
      }
      break;
    case 'message:delivered':
      out.stats.delivered++;
      b.untag(e.messageId);
      break;
    case 'message:dead-lettered':
      out.stats.dead++;
      b.untag(e.messageId);
      break;
    case 'message:cancelled':
      out.stats.cancelled++;
      b.untag(e.messageId);
      // A cancelled in-flight message also releases its token (handled there). Otherwise it was
      // waiting or scheduled; the event does not say which, so a waiter we cannot see is a guess.
      if (k.waiting.some((w) => w.messageId === e.messageId)) leaveWaitlist(k, e.messageId);
      else if (!k.active.some((a) => a.messageId === e.messageId)) {
        if (k.scheduled > 0) leaveScheduled(k);
        else k.waitListSize = Math.max(0, k.waitListSize - 1);
      }
      break;
    case 'key:configured':
      k.parallelism = e.parallelism;
      k.rate = e.rate;
      k.periodMs = e.periodMs;
      k.pinnedParallelism = e.pinnedParallelism;
      k.pinnedRate = e.pinnedRate;
      k.rateCount = e.rateCount;
      k.ratePeriodStart = e.ratePeriodStart;
      break;
    case 'key:paused':
      k.paused = true;
      break;
    case 'key:resumed':
      k.paused = false;
      break;
    case 'key:rate-reset':
      k.rateCount = 0;
      k.ratePeriodStart = e.ratePeriodStart;
      break;
    case 'delivery:succeeded':
    case 'lease:expired':
      // The token moves with the `token:*` event that follows; nothing to draw yet.
      break;
  }
}
