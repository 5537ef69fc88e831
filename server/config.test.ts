import { describe, expect, it } from 'vitest';
import { ConfigError, helpText, readConfig } from './config';
import { DEFAULT_RETENTION } from './flow/retention';

describe('readConfig', () => {
  it('uses the defaults with nothing set', () => {
    expect(readConfig([], {})).toEqual({
      port: 8080,
      host: '127.0.0.1',
      token: undefined,
      signingKeys: null,
      allowedOrigins: [],
      allowedHosts: [],
      maxBodyBytes: 1_048_576,
      globalParallelism: null,
      requestTimeoutMs: 30_000,
      shutdownTimeoutMs: 30_000,
      keyTtlMs: 3_600_000,
      policy: 'fifo',
      redisUrl: null,
      redisPrefix: 'baton:',
      redisLeaseMs: 30_000,
      logLevel: 'info',
      retention: DEFAULT_RETENTION,
    });
  });

  it('reads the Redis store and its prefix, and refuses what is not a Redis URL', () => {
    expect(readConfig(['--redis', 'redis://10.0.0.5:6380/2'], {})).toMatchObject({
      redisUrl: 'redis://10.0.0.5:6380/2',
      redisPrefix: 'baton:',
    });
    expect(
      readConfig([], { REDIS_URL: 'rediss://:pw@cache:6379', BATON_REDIS_PREFIX: 'staging:' }),
    ).toMatchObject({ redisUrl: 'rediss://:pw@cache:6379', redisPrefix: 'staging:' });
    expect(() => readConfig(['--redis', 'http://x'], {})).toThrow(/--redis \(REDIS_URL\)/);
    expect(() => readConfig(['--redis-prefix', 'a b'], {})).toThrow(/--redis-prefix/);
    expect(() => readConfig(['--redis-prefix', '{x}'], {})).toThrow(/no spaces or braces/);
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

  it('reads the signing keys under the names QStash users already set, flags winning', () => {
    const env = { QSTASH_CURRENT_SIGNING_KEY: 'sig_cur', QSTASH_NEXT_SIGNING_KEY: 'sig_next' };
    expect(readConfig([], env)).toMatchObject({
      signingKeys: { current: 'sig_cur', next: 'sig_next' },
    });
    expect(readConfig(['--current-signing-key', 'sig_flag'], env)).toMatchObject({
      signingKeys: { current: 'sig_flag', next: 'sig_next' },
    });
    // A current key alone is also the next one; a next key alone is refused.
    expect(readConfig(['--current-signing-key', 'sig_only'], {})).toMatchObject({
      signingKeys: { current: 'sig_only', next: 'sig_only' },
    });
    expect(() => readConfig([], { QSTASH_NEXT_SIGNING_KEY: 'sig_next' })).toThrow(ConfigError);
  });

  it('reads allowed origins and hosts as comma lists, and the body limit in bytes', () => {
    expect(
      readConfig(
        [
          '--allowed-origins',
          'http://localhost:5173, https://Tools.Example/',
          '--allowed-hosts',
          'baton.internal,*',
          '--max-body-bytes',
          '2097152',
        ],
        {},
      ),
    ).toMatchObject({
      allowedOrigins: ['http://localhost:5173', 'https://tools.example'],
      allowedHosts: ['baton.internal', '*'],
      maxBodyBytes: 2_097_152,
    });
    expect(readConfig([], { BATON_ALLOWED_ORIGINS: '*' })).toMatchObject({
      allowedOrigins: ['*'],
    });
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
    [['--allowed-origins', 'localhost:5173'], {}],
    [['--allowed-origins', 'http://a.example/path'], {}],
    [['--allowed-hosts', 'a b'], {}],
    [['--max-body-bytes', '1mb'], {}],
    [['--max-body-bytes', '0'], {}],
    [['--unknown'], {}],
  ])('refuses %j %j', (argv, env) => {
    expect(() => readConfig(argv, env)).toThrow(ConfigError);
  });
});
