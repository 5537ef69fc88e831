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

/**
 * Why the key's waitlist cannot move now, checked in the engine's order; when both the
 * parallelism and the rate hold it, both are named, the rate window (which holds it longest for
 * certain) first.
 */
export function explainWait(k: KeyView, ctx: WaitContext): WaitExplanation {
  if (k.paused) {
    return {
      reason: 'paused',
      summary: `key ${k.key} is paused`,
      next: 'Nothing starts until the key is resumed; requests in flight finish as usual.',
    };
  }
  const parallelism = parallelismHold(k);
  const rate = rateHold(k, ctx.now);
  if (parallelism !== null && rate !== null) {
    // Both hold. The rate window holds it for certain until the window ends, whatever finishes
    // first; a freed token cannot start it before then. So the rate is named first, and the
    // parallelism with it: once the window ends, it still needs a token.
    return {
      reason: 'rate',
      summary: `${rate.summary}, and ${parallelism.summary}`,
      next: `${rate.next} It also needs a token: one of the ${k.inFlight} active request${k.inFlight === 1 ? '' : 's'} must finish and hand it on.`,
    };
  }
  if (parallelism !== null) return parallelism;
  if (rate !== null) return rate;
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

/** The parallelism's hold on the waitlist, or null when a token is free. */
function parallelismHold(k: KeyView): WaitExplanation | null {
  if (k.parallelism === null || k.inFlight < k.parallelism) return null;
  const n = k.inFlight;
  return {
    reason: 'parallelism',
    summary: `parallelism is full: ${n} of ${k.parallelism} in flight`,
    next: `It gets a token when one of the ${n} active request${n === 1 ? '' : 's'} finishes and hands its token on.`,
  };
}

/** The rate window's hold on the waitlist, or null when the window has room. */
function rateHold(k: KeyView, now: number): WaitExplanation | null {
  if (k.rate === null) return null;
  const w = windowAt(k.ratePeriodStart, k.periodMs, k.rateCount, ms(now));
  if (w.count < k.rate) return null;
  const left = Math.max(0, w.start + k.periodMs - now);
  return {
    reason: 'rate',
    summary: `the rate is used up: ${w.count} of ${k.rate} starts in this ${formatPeriod(k.periodMs)} window`,
    next: `The window ends in ${formatDuration(left)}; then up to ${k.rate} more start.`,
  };
}
