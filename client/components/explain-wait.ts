/**
 * "Why is this waiting?", answered from the key's state now rather than from the reason a waiter
 * had when it joined: the key may have been paused since, or its rate window filled.
 */
import type { WaitReason, WorkflowTag } from '../../shared/events';
import { windowAt } from '../../shared/engine/rate-window';
import { ms } from '../../shared/engine/units';
import { formatDuration, formatPeriod, ordinal } from './format';
import type { KeyView } from '../store/flow-types';

export interface WaitContext {
  /** Server time now, ms. */
  now: number;
  globalParallelism: number | null;
  globalInFlight: number;
}

export interface WaitExplanation {
  /** What holds the waitlist back now; null when nothing does (a start is on its way). */
  reason: WaitReason | null;
  /** One line, e.g. "parallelism is full: 3 of 3 in flight". */
  summary: string;
  /** What has to happen for it to start. */
  next: string;
}

/** Why the key's waitlist cannot move now, checked in the engine's order. */
export function explainWait(k: KeyView, ctx: WaitContext): WaitExplanation {
  if (k.paused) {
    return {
      reason: 'paused',
      summary: `key ${k.key} is paused`,
      next: 'Nothing starts until the key is resumed; requests in flight finish as usual.',
    };
  }
  if (k.parallelism !== null && k.inFlight >= k.parallelism) {
    const n = k.inFlight;
    return {
      reason: 'parallelism',
      summary: `parallelism is full: ${n} of ${k.parallelism} in flight`,
      next: `It gets a token when one of the ${n} active request${n === 1 ? '' : 's'} finishes and hands its token on.`,
    };
  }
  if (k.rate !== null) {
    const w = windowAt(k.ratePeriodStart, k.periodMs, k.rateCount, ms(ctx.now));
    if (w.count >= k.rate) {
      const left = Math.max(0, w.start + k.periodMs - ctx.now);
      return {
        reason: 'rate',
        summary: `the rate is used up: ${w.count} of ${k.rate} starts in this ${formatPeriod(k.periodMs)} window`,
        next: `The window ends in ${formatDuration(left)}; then up to ${k.rate} more start.`,
      };
    }
  }
  if (ctx.globalParallelism !== null && ctx.globalInFlight >= ctx.globalParallelism) {
    return {
      reason: 'global',
      summary: `the global limit is reached: ${ctx.globalInFlight} of ${ctx.globalParallelism} in flight across all keys`,
      next: 'It starts when a delivery of any key finishes.',
    };
  }
  return {
    reason: null,
    summary: 'nothing holds it back any more',
    next: 'The server is starting it now.',
  };
}

/**
 * The explanation for one waiter: its place, its age, and the key's reason; told as the step it
 * is when `workflow` is given ("Step send-email of run wfr_… waits 2nd for 3.0 s because …").
 */
export function explainWaiter(
  k: KeyView,
  waiter: { readyAt: number; reason: WaitReason },
  position: number,
  ctx: WaitContext,
  workflow?: WorkflowTag,
): { reason: WaitReason; text: string } {
  const why = explainWait(k, ctx);
  const ahead = position - 1;
  const queue =
    ahead === 0
      ? 'It is first in line.'
      : `${ahead} request${ahead === 1 ? ' is' : 's are'} ahead of it.`;
  const waited = formatDuration(Math.max(0, ctx.now - waiter.readyAt));
  const head =
    workflow === undefined
      ? `Waiting ${ordinal(position)} for ${waited}: `
      : `Step ${workflow.step} of run ${workflow.runId} waits ${ordinal(position)} for ${waited} because `;
  return {
    reason: why.reason ?? waiter.reason,
    text: `${head}${why.summary}. ${queue} ${why.next}`,
  };
}
