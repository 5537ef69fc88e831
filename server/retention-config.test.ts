import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from './config';
import { DEFAULT_RETENTION } from './flow/retention';

const retentionOf = (argv: string[], env: Record<string, string> = {}) => {
  const c = readConfig(argv, env);
  if (c === 'help') throw new Error('help');
  return c.retention;
};

describe('the retention settings', () => {
  it('default to 64 MiB and 3 days of history and logs, 256 MiB and 7 days of dead letters', () => {
    expect(retentionOf([])).toEqual(DEFAULT_RETENTION);
    expect(DEFAULT_RETENTION).toEqual({
      history: { maxBytes: 64 * 2 ** 20, maxAgeMs: 3 * 86_400_000 },
      keepBodies: false,
      deadLetters: { maxBytes: 256 * 2 ** 20, maxAgeMs: 7 * 86_400_000 },
      logs: { maxBytes: 64 * 2 ** 20, maxAgeMs: 3 * 86_400_000, maxBodyBytes: 64 * 1024 },
    });
  });

  it('read sizes, ages (or off) and keep-bodies from flags and the environment', () => {
    const r = retentionOf(
      ['--history-bytes', '16MiB', '--dlq-max-age', 'off', '--logs-body-bytes', '0'],
      { BATON_LOGS_BYTES: '1048576', BATON_HISTORY_MAX_AGE: '12h', BATON_KEEP_BODIES: 'true' },
    );
    expect(r).toEqual({
      history: { maxBytes: 16 * 2 ** 20, maxAgeMs: 12 * 3_600_000 },
      keepBodies: true,
      deadLetters: { maxBytes: 256 * 2 ** 20, maxAgeMs: null },
      logs: { maxBytes: 1_048_576, maxAgeMs: 3 * 86_400_000, maxBodyBytes: 0 },
    });
  });

  it.each([
    ['--history-bytes', 'lots'],
    ['--dlq-bytes', '-1'],
    ['--logs-max-age', 'forever'],
    ['--history-max-age', '0s'],
    ['--keep-bodies', 'yes'],
  ])('refuses %s %s', (flag, value) => {
    expect(() => readConfig([flag, value], {})).toThrow(ConfigError);
  });
});
