import type { FlowConfig } from '../engine/types';
import { MAX_PERIOD, keyId, type KeyId } from '../engine/units';
import { parseDuration } from './duration';
import { InvalidRequest } from './invalid-request';

/** Why a flow-control header pair was refused; the message goes back to the caller as a 400. */
export class FlowControlError extends InvalidRequest {}

const MAX_KEY_LENGTH = 512;

/**
 * Parses `Upstash-Flow-Control-Value`: `name=value` pairs of `parallelism`, `rate` and `period`,
 * in any order, separated by commas with optional spaces (`parallelism=5, rate=10, period=1m`).
 */
export function parseFlowControlValue(value: string): FlowConfig {
  const cfg: { parallelism?: number; rate?: number; periodMs?: number } = {};
  const pairs = value.split(',').map((p) => p.trim());
  if (pairs.length === 0 || pairs.every((p) => p === '')) {
    throw new FlowControlError(
      'Upstash-Flow-Control-Value is empty; expected e.g. "parallelism=5, rate=10, period=1m"',
    );
  }
  for (const pair of pairs) {
    const m = /^([A-Za-z]+)\s*=\s*(\S+)$/.exec(pair);
    if (m === null)
      throw new FlowControlError(`Upstash-Flow-Control-Value: "${pair}" is not name=value`);
    const name = (m[1] as string).toLowerCase();
    const raw = m[2] as string;
    if (name === 'parallelism' || name === 'rate' || name === 'ratepersecond') {
      const field = name === 'parallelism' ? 'parallelism' : 'rate';
      if (cfg[field] !== undefined)
        throw new FlowControlError(`Upstash-Flow-Control-Value: ${field} is given twice`);
      if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)) || Number(raw) < 1) {
        throw new FlowControlError(
          `Upstash-Flow-Control-Value: ${field} must be a whole number ≥ 1, got "${raw}"`,
        );
      }
      cfg[field] = Number(raw);
    } else if (name === 'period') {
      if (cfg.periodMs !== undefined)
        throw new FlowControlError('Upstash-Flow-Control-Value: period is given twice');
      const p = parseDuration(raw, false);
      if (p === null || p < 1000) {
        throw new FlowControlError(
          `Upstash-Flow-Control-Value: period must be <n>s|m|h|d (e.g. 1m), got "${raw}"`,
        );
      }
      if (p > MAX_PERIOD)
        throw new FlowControlError(`Upstash-Flow-Control-Value: period "${raw}" is over 1 week`);
      cfg.periodMs = p;
    } else {
      throw new FlowControlError(
        `Upstash-Flow-Control-Value: unknown name "${m[1]}"; use parallelism, rate and period`,
      );
    }
  }
  if (cfg.parallelism === undefined && cfg.rate === undefined) {
    throw new FlowControlError(
      'Upstash-Flow-Control-Value should be either rate=X or parallelism=Y, or both as comma-separated values',
    );
  }
  return cfg as FlowConfig;
}

/**
 * Checks a flow-control key: non-empty, printable, at most 512 characters. The one rule for every
 * endpoint that takes a key (publish headers, `/v2/flowControl/{key}/…`); `what` names it in errors.
 */
export function parseFlowControlKey(raw: string, what = 'Upstash-Flow-Control-Key'): KeyId {
  const key = raw.trim();
  if (key === '') throw new FlowControlError(`${what} is empty`);
  if (key.length > MAX_KEY_LENGTH)
    throw new FlowControlError(`${what} is longer than ${MAX_KEY_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd]/.test(key))
    throw new FlowControlError(`${what} contains control characters or invalid UTF-8`);
  if (key === '$') throw new FlowControlError(`${what} "$" is reserved for messages without a key`);
  return keyId(key);
}

/**
 * The pair of headers together: both or neither. Returns undefined when neither is present.
 */
export function parseFlowControlHeaders(
  key: string | undefined,
  value: string | undefined,
): { key: KeyId; config: FlowConfig } | undefined {
  if (key === undefined && value === undefined) return undefined;
  if (key === undefined)
    throw new FlowControlError(
      'Upstash-Flow-Control-Value was sent without Upstash-Flow-Control-Key',
    );
  if (value === undefined)
    throw new FlowControlError(
      'Upstash-Flow-Control-Key was sent without Upstash-Flow-Control-Value',
    );
  return { key: parseFlowControlKey(key), config: parseFlowControlValue(value) };
}
