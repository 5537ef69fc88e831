/** Read-only views of the engine's records, as its queries return them. */
import type { WaitReason } from '../events';
import { windowAt } from './rate-window';
import type { KeyState, MessageRecord } from './state';
import type { KeySnapshot, MessageView } from './types';
import type { Millis } from './units';

export function viewMessage(m: MessageRecord): MessageView {
  const timed = m.state === 'scheduled' || m.state === 'retry-scheduled';
  return {
    id: m.id,
    key: m.key.id,
    state: m.state,
    attempt: m.attempt,
    maxRetries: m.maxRetries,
    readyAt: m.state === 'waiting' || m.state === 'in-flight' ? m.readyAt : null,
    startedAt: m.state === 'in-flight' ? m.startedAt : null,
    dueAt: timed ? m.readyAt : null,
  };
}

/** One key at `now` (its window as it would be at `now`), with at most `waitlistLimit` waiters. */
export function viewKey(
  k: KeyState,
  now: Millis,
  waitlistLimit: number,
  blockedBy: WaitReason | null,
): KeySnapshot {
  const w = windowAt(k.windowStart, k.periodMs, k.rateCount, now);
  return {
    key: k.id,
    parallelism: k.parallelism,
    rate: k.rate,
    periodMs: k.periodMs,
    pinnedParallelism: k.pinnedParallelism,
    pinnedRate: k.pinnedRate,
    paused: k.paused,
    inFlight: k.inFlight,
    rateCount: w.count,
    ratePeriodStart: w.start,
    waitListSize: k.waitlist.size,
    scheduled: k.scheduled,
    blockedBy,
    active: [...k.active].map((m) => ({
      messageId: m.id,
      attempt: m.attempt,
      startedAt: m.startedAt,
      ...(m.workflow !== undefined ? { workflow: m.workflow } : {}),
    })),
    waiting: k.waitlist.list(waitlistLimit).map((m) => ({
      messageId: m.id,
      attempt: m.attempt,
      readyAt: m.readyAt,
      reason: m.reason,
      ...(m.workflow !== undefined ? { workflow: m.workflow } : {}),
    })),
  };
}
