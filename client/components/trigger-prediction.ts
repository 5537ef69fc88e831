/**
 * From the trigger form to the predictor, and back to words. The prediction reads the very strings
 * the form publishes (the flow-control header, the `sim://` destination) through the server's own
 * parsers, so it predicts what the server will be asked to do, not what the form meant.
 */
import { windowAt } from '../../shared/engine/rate-window';
import { DEFAULT_RETRIES, defaultBackoff } from '../../shared/engine/retry';
import type { HandoffPolicy } from '../../shared/engine/types';
import { ms } from '../../shared/engine/units';
import { parseFlowControlValue } from '../../shared/protocol/flow-control';
import { parseSimDestination } from '../../shared/protocol/sim-destination';
import type { KeyView } from '../store/flow-types';
import type { KeyNow, Prediction, PredictionInput } from '../viz/predict';
import { formatDuration } from './format';
import {
  destinationOf,
  flowControlValue,
  problemWith,
  publishOffsets,
  type TriggerSpec,
} from './trigger-plan';

/** Waiters of the key counted ahead of the burst at most (a longer waitlist is cut, and said so). */
export const MAX_AHEAD = 20_000;

export interface PredictionContext {
  /** The key as the page holds it now, if it knows it. */
  key: KeyView | undefined;
  /** Server time now. */
  now: number;
  policy: HandoffPolicy;
  /** For a real URL: how long each request is expected to take. */
  expectedMs: number;
}

/** The predictor's input for the form's spec, or why there is none. */
export function predictionInputOf(
  spec: TriggerSpec,
  ctx: PredictionContext,
): { input: PredictionInput } | { problem: string } {
  const problem = problemWith(spec);
  if (problem !== null) return { problem };
  let durationMs = ctx.expectedMs;
  let failRate = 0;
  try {
    const value = flowControlValue(spec);
    const config = value === undefined ? undefined : parseFlowControlValue(value);
    if (spec.destination.kind === 'sim') {
      const sim = parseSimDestination(destinationOf(spec));
      durationMs = sim.durationMs;
      failRate = sim.fail;
    }
    if (!Number.isFinite(durationMs) || durationMs < 0)
      return { problem: 'the duration is not a time' };
    return {
      input: {
        offsets: publishOffsets(spec),
        config,
        durationMs,
        failRate,
        // The form sends no Upstash-Retries: the server's default applies.
        retries: DEFAULT_RETRIES,
        ...(ctx.key !== undefined ? { key: keyNow(ctx.key, ctx.now) } : {}),
        policy: ctx.policy,
      },
    };
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

/** The key's state as the predictor takes it: times relative to now, the window as of now. */
export function keyNow(k: KeyView, now: number): KeyNow {
  const w = windowAt(k.ratePeriodStart, k.periodMs, k.rateCount, ms(now));
  return {
    parallelism: k.parallelism,
    rate: k.rate,
    periodMs: k.periodMs,
    pinnedParallelism: k.pinnedParallelism,
    pinnedRate: k.pinnedRate,
    paused: k.paused,
    rateCount: w.count,
    windowStart: w.start - now,
    activeStarts: k.active.map((a) => Math.min(0, a.startedAt - now)),
    waiting: Math.min(MAX_AHEAD, k.waitListSize),
  };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The prediction in words: the total, the longest wait, what goes first, what fails. */
export function predictionSentences(
  p: Prediction,
  count: number,
  key: KeyView | undefined,
): string[] {
  const out: string[] = [];
  const s = p.summary;
  if (p.stuck) {
    out.push(
      key?.paused === true
        ? 'The key is paused: nothing starts until it is resumed.'
        : `Only ${s.ended} of ${count} would end.`,
    );
  } else {
    out.push(`${plural(count, 'request')}: ${formatDuration(s.totalMs ?? 0)} in all.`);
  }
  out.push(
    s.longestWaitRow === null
      ? 'None waits: each starts as it arrives.'
      : `Longest wait ${formatDuration(s.longestWaitMs)} (request ${s.longestWaitRow + 1}).`,
  );
  const { inFlight, waiting } = p.ahead;
  if (inFlight + waiting > 0) {
    const parts = [
      ...(inFlight > 0 ? [`${inFlight} in flight`] : []),
      ...(waiting > 0 ? [`${waiting === MAX_AHEAD ? 'the first ' : ''}${waiting} waiting`] : []),
    ];
    out.push(`Already on the key, going first: ${parts.join(' and ')}.`);
  }
  const p90 = endQuantile(p, 0.9);
  if (s.totalMs !== null && p90 !== null && p90 < s.totalMs * 0.8)
    out.push(`9 in 10 end within ${formatDuration(p90)}.`);
  if (s.failedAttempts > 0) {
    out.push(
      `${plural(s.failedAttempts, 'attempt')} ${s.failedAttempts === 1 ? 'fails' : 'fail'}; ` +
        `a retry waits ${formatDuration(defaultBackoff(1))} first.`,
    );
  }
  return out;
}

/** When the fraction `q` of the requests have ended (null when some never end). */
function endQuantile(p: Prediction, q: number): number | null {
  const ends = p.rows.map((r) => r.attempts[r.attempts.length - 1]?.endAt ?? null);
  if (ends.length === 0 || ends.some((e) => e === null)) return null;
  const sorted = (ends as number[]).sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

/** "Predicted 4.0 s · real 4.1 s (+3%)": the comparison once the real run has ended. */
export function comparisonText(predictedMs: number, realMs: number): string {
  const pct = predictedMs > 0 ? Math.round(((realMs - predictedMs) / predictedMs) * 100) : 0;
  const sign = pct > 0 ? '+' : pct < 0 ? '−' : '±';
  return `Predicted ${formatDuration(predictedMs)} · real ${formatDuration(realMs)} (${sign}${Math.abs(pct)}%)`;
}
