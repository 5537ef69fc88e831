/**
 * The retention settings (`--history-*`, `--dlq-*`, `--logs-*`, `--keep-bodies`): their rows of
 * `SETTINGS` and their parsing, spread into `config.ts` so that file keeps one line for them.
 */
import { z } from 'zod';
import { parseDuration } from '../shared/protocol/duration';
import { parseByteSize, type RetentionOptions } from './flow/retention';

/** Rows of `SETTINGS` (defaults as `DEFAULT_RETENTION` has them). */
export const RETENTION_SETTINGS = [
  {
    flag: 'history-bytes',
    env: 'BATON_HISTORY_BYTES',
    default: '64MiB',
    help: 'memory kept for ended messages (GET /v2/messages/{id}), oldest forgotten first (e.g. 64MiB, 1GiB)',
  },
  {
    flag: 'history-max-age',
    env: 'BATON_HISTORY_MAX_AGE',
    default: '3d',
    help: 'forget an ended message this long after its end (off: never)',
  },
  {
    flag: 'keep-bodies',
    env: 'BATON_KEEP_BODIES',
    default: 'false',
    help: 'true: an ended message keeps its body in the history (counted in --history-bytes)',
  },
  {
    flag: 'dlq-bytes',
    env: 'BATON_DLQ_BYTES',
    default: '256MiB',
    help: 'memory kept for dead letters, bodies included; the oldest are dropped first, with a warning',
  },
  {
    flag: 'dlq-max-age',
    env: 'BATON_DLQ_MAX_AGE',
    default: '7d',
    help: 'drop a dead letter this long after it failed, with a warning (off: never)',
  },
  {
    flag: 'logs-bytes',
    env: 'BATON_LOGS_BYTES',
    default: '64MiB',
    help: 'memory kept for the logs (GET /v2/events), oldest entries forgotten first',
  },
  {
    flag: 'logs-max-age',
    env: 'BATON_LOGS_MAX_AGE',
    default: '3d',
    help: 'forget a log entry this long after it happened (off: never)',
  },
  {
    flag: 'logs-body-bytes',
    env: 'BATON_LOGS_BODY_BYTES',
    default: '64KiB',
    help: 'largest body the logs show; a larger one is left out of its entries',
  },
] as const;

const bytes = z.string().transform((s, ctx) => {
  const n = parseByteSize(s);
  if (n === null) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be a size like 64MiB, 512KiB, 1GiB or a number of bytes',
    });
    return z.NEVER;
  }
  return n;
});

const maxAge = z.string().transform((s, ctx) => {
  if (s.trim() === 'off') return null;
  const d = parseDuration(s);
  if (d === null || d < 1000) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be a duration like 3d, 12h or 30m (at least 1s), or off',
    });
    return z.NEVER;
  }
  return d;
});

/** The schema's part for these flags. */
export const retentionSchema = {
  'history-bytes': bytes,
  'history-max-age': maxAge,
  'keep-bodies': z.enum(['true', 'false']).transform((s) => s === 'true'),
  'dlq-bytes': bytes,
  'dlq-max-age': maxAge,
  'logs-bytes': bytes,
  'logs-max-age': maxAge,
  'logs-body-bytes': bytes,
};

type Parsed = { [K in keyof typeof retentionSchema]: z.output<(typeof retentionSchema)[K]> };

/** The settings as `createApp` takes them. */
export function retentionOf(c: Parsed): RetentionOptions {
  return {
    history: { maxBytes: c['history-bytes'], maxAgeMs: c['history-max-age'] },
    keepBodies: c['keep-bodies'],
    deadLetters: { maxBytes: c['dlq-bytes'], maxAgeMs: c['dlq-max-age'] },
    logs: {
      maxBytes: c['logs-bytes'],
      maxAgeMs: c['logs-max-age'],
      maxBodyBytes: c['logs-body-bytes'],
    },
  };
}
