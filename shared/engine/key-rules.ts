/**
 * The rules that change one key's configuration and rate window, as functions over its state.
 * They emit nothing; the engine turns their outcome into events.
 */
import { windowAt } from './rate-window';
import type { KeyState } from './state';
import type { FlowConfig, PinInput } from './types';
import { DEFAULT_PERIOD, type Millis } from './units';

/** Advances the key's fixed window to the one holding `now`. */
export function roll(k: KeyState, now: Millis): void {
  if (now >= k.windowStart + k.periodMs) {
    const w = windowAt(k.windowStart, k.periodMs, k.rateCount, now);
    k.windowStart = w.start;
    k.rateCount = w.count;
  }
}

/** Zeroes the count and starts a new window now (pin, resetRate). */
export function restartWindow(k: KeyState, now: Millis): void {
  k.rateCount = 0;
  k.windowStart = now;
  k.windowTimerAt = 0;
}

/**
 * A new period keeps the window holding `now` (start and count) while the new period still covers
 * `now`; otherwise a new window starts now. Re-anchoring on the old grid (`roll` with the new
 * period) could land on a start before `now` with its count zeroed, forgetting starts already in it.
 */
function changePeriod(k: KeyState, period: Millis, now: Millis): void {
  roll(k, now);
  k.periodMs = period;
  if (now >= k.windowStart + period) restartWindow(k, now);
}

/**
 * The latest message's config becomes the key's, except the parts that are pinned; the parts a
 * message leaves out are cleared. Returns whether anything changed.
 */
export function configureFromMessage(k: KeyState, cfg: FlowConfig, now: Millis): boolean {
  let changed = false;
  if (!k.pinnedParallelism) {
    const p = cfg.parallelism ?? null;
    if (p !== k.parallelism) {
      k.parallelism = p;
      changed = true;
    }
  }
  if (!k.pinnedRate) {
    const r = cfg.rate ?? null;
    const period = cfg.periodMs ?? DEFAULT_PERIOD;
    if (r !== k.rate || period !== k.periodMs) {
      if (period !== k.periodMs) changePeriod(k, period, now);
      k.rate = r;
      changed = true;
    }
  }
  return changed;
}

/** Fixes the given parts and marks them pinned; pinning resets the rate window. */
export function applyPin(k: KeyState, pin: PinInput, now: Millis): void {
  if (pin.parallelism !== undefined) {
    k.parallelism = pin.parallelism;
    k.pinnedParallelism = true;
  }
  if (pin.rate !== undefined || pin.periodMs !== undefined) {
    if (pin.rate !== undefined) k.rate = pin.rate;
    if (pin.periodMs !== undefined) k.periodMs = pin.periodMs;
    k.pinnedRate = true;
  }
  restartWindow(k, now);
}
