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

  it('answers help', () => {
    expect(readConfig(['--help'], {})).toBe('help');
    expect(helpText()).toContain('BATON_GLOBAL_PARALLELISM');
  });

  it.each([
    [['--port', 'eighty'], {}],
    [['--global-parallelism', '0'], {}],
    [[], { BATON_REQUEST_TIMEOUT: 'soon' }],
    [['--policy', 'lifo'], {}],
    [['--unknown'], {}],
  ])('refuses %j %j', (argv, env) => {
    expect(() => readConfig(argv, env)).toThrow(ConfigError);
  });
});
