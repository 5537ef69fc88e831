import type { FlowConfig } from './types';
import { MAX_PERIOD } from './units';

/** Throws unless `n` is a whole number ≥ 1 (a limit of 0 would stop a key forever). */
export function validateLimit(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`${name} must be a whole number ≥ 1, got ${n}`);
}

/** The engine's own guard; the protocol layer answers bad input with a 4xx before it gets here. */
export function validateConfig(cfg: FlowConfig): void {
  if (cfg.parallelism !== undefined) validateLimit('parallelism', cfg.parallelism);
  if (cfg.rate !== undefined) validateLimit('rate', cfg.rate);
  if (cfg.periodMs !== undefined) {
    const p = cfg.periodMs;
    if (!Number.isSafeInteger(p) || p < 1 || p > MAX_PERIOD) {
      throw new RangeError(`period must be between 1 ms and 1 week, got ${p} ms`);
    }
  }
}

/** Throws unless `d` is a finite duration ≥ 0 (a NaN delay would never come due, and the message never end). */
export function validateDelay(name: string, d: number): void {
  if (!Number.isFinite(d) || d < 0)
    throw new RangeError(`${name} must be a finite duration ≥ 0 ms, got ${d}`);
}
