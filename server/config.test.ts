import { describe, expect, it } from 'vitest';
import { ConfigError, helpText, readConfig } from './config';

describe('readConfig', () => {
  it('uses the defaults with nothing set', () => {
    expect(readConfig([], {})).toEqual({
      port: 8080,
      host: '127.0.0.1',
      token: undefined,
      globalParallelism: null,
      requestTimeoutMs: 30_000,
      keyTtlMs: 3_600_000,
      policy: 'fifo',
      logLevel: 'info',
    });
  });

  it('lets flags win over the environment', () => {
    const c = readConfig(['--port', '9000', '--global-parallelism', '50'], {
      PORT: '7000',
      BATON_TOKEN: 's3cret',
    });
    expect(c).toMatchObject({ port: 9000, globalParallelism: 50, token: 's3cret' });
  });

  it('reads the key TTL as a duration, or off', () => {
    expect(readConfig(['--key-ttl', '15m'], {})).toMatchObject({ keyTtlMs: 900_000 });
    expect(readConfig([], { BATON_KEY_TTL: 'off' })).toMatchObject({ keyTtlMs: null });
  });

  it('answers help', () => {
    expect(readConfig(['--help'], {})).toBe('help');
    expect(helpText()).toContain('BATON_GLOBAL_PARALLELISM');
  });

  it.each([
    [['--port', 'eighty'], {}],
    [['--global-parallelism', '0'], {}],
    [[], { BATON_REQUEST_TIMEOUT: 'soon' }],
    [['--key-ttl', '0s'], {}],
    [['--key-ttl', 'never'], {}],
    [['--policy', 'lifo'], {}],
    [['--unknown'], {}],
  ])('refuses %j %j', (argv, env) => {
    expect(() => readConfig(argv, env)).toThrow(ConfigError);
  });
});
