import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseDuration } from '../shared/protocol/duration';
import { hostName, normalizeOrigin } from './http/browser-guard';
import type { RetentionOptions } from './flow/retention';
import { RETENTION_SETTINGS, retentionOf, retentionSchema } from './retention-config';

/** Every setting, with its flag, environment variable and default: the single source for `--help` and the README. */
export const SETTINGS = [
  { flag: 'port', env: 'PORT', default: '8080', help: 'port to listen on' },
  {
    flag: 'host',
    env: 'HOST',
    default: '127.0.0.1',
    help: 'address to bind (0.0.0.0 to accept other machines)',
  },
  {
    flag: 'token',
    env: 'BATON_TOKEN',
    default: '',
    help: 'require this bearer token on every API call and socket (none: any token is accepted)',
  },
  {
    flag: 'current-signing-key',
    env: 'QSTASH_CURRENT_SIGNING_KEY',
    default: '',
    help: "key that signs deliveries' Upstash-Signature (none: the public development keys)",
  },
  {
    flag: 'next-signing-key',
    env: 'QSTASH_NEXT_SIGNING_KEY',
    default: '',
    help: 'the next signing key, answered at GET /v2/keys (none: the current one)',
  },
  {
    flag: 'allowed-origins',
    env: 'BATON_ALLOWED_ORIGINS',
    default: '',
    help: "comma list of browser origins besides the dashboard's own that may call Baton (* any)",
  },
  {
    flag: 'allowed-hosts',
    env: 'BATON_ALLOWED_HOSTS',
    default: '',
    help: 'comma list of host names besides IP addresses, localhost and --host that requests may use (* any)',
  },
  {
    flag: 'max-body-bytes',
    env: 'BATON_MAX_BODY_BYTES',
    default: '1048576',
    help: 'largest request body accepted, in bytes (larger: 413)',
  },
  {
    flag: 'global-parallelism',
    env: 'BATON_GLOBAL_PARALLELISM',
    default: '',
    help: 'cap on in-flight deliveries across all keys (none: no cap)',
  },
  {
    flag: 'request-timeout',
    env: 'BATON_REQUEST_TIMEOUT',
    default: '30s',
    help: 'longest a delivery may take before it counts as failed (e.g. 30s, 2m)',
  },
  {
    flag: 'shutdown-timeout',
    env: 'BATON_SHUTDOWN_TIMEOUT',
    default: '30s',
    help: 'on SIGTERM/SIGINT, how long deliveries in flight may take to finish (e.g. 30s; 0s: none)',
  },
  {
    flag: 'key-ttl',
    env: 'BATON_KEY_TTL',
    default: '1h',
    help: 'forget a key idle this long, with nothing waiting, in flight, paused or pinned (off: never)',
  },
  {
    flag: 'policy',
    env: 'BATON_HANDOFF_POLICY',
    default: 'fifo',
    help: 'which waiter receives a freed token: fifo or random',
  },
  {
    flag: 'redis',
    env: 'REDIS_URL',
    default: '',
    help: 'keep flow control, messages, schedules, URL groups, queues and Workflow runs in this Redis (redis://host:port), shared by every Baton server on it (none: in memory)',
  },
  {
    flag: 'redis-prefix',
    env: 'BATON_REDIS_PREFIX',
    default: 'baton:',
    help: "prefix of Baton's Redis keys, so several deployments can share one Redis",
  },
  {
    flag: 'redis-lease',
    env: 'BATON_REDIS_LEASE',
    default: '30s',
    help: "with --redis: how long a delivery in flight holds its token unless its server renews it (renewed every third of it); a dead server's deliveries go back to the others after it",
  },
  {
    flag: 'log-level',
    env: 'LOG_LEVEL',
    default: 'info',
    help: 'pino log level: fatal, error, warn, info, debug, trace, silent',
  },
  ...RETENTION_SETTINGS,
] as const;

export interface Config {
  port: number;
  host: string;
  token: string | undefined;
  /** The operator's signing keys; null: none set, the public development keys are used. */
  signingKeys: { current: string; next: string } | null;
  /** Origins (normalized, or `*`) a browser page may call Baton from besides its own. */
  allowedOrigins: string[];
  /** Host names (or `*`) requests may address besides IP literals, localhost and `host`. */
  allowedHosts: string[];
  maxBodyBytes: number;
  globalParallelism: number | null;
  requestTimeoutMs: number;
  /** On a stop signal, how long deliveries in flight may take to finish. */
  shutdownTimeoutMs: number;
  /** null: keys are never forgotten. */
  keyTtlMs: number | null;
  policy: 'fifo' | 'random';
  /** Redis URL of the shared store; null: the in-memory store. */
  redisUrl: string | null;
  redisPrefix: string;
  /** With Redis: a delivery's lease, renewed every third of it. */
  redisLeaseMs: number;
  logLevel: string;
  /** What is kept of ended messages, dead letters and logs (bytes and age). */
  retention: RetentionOptions;
}

const schema = z.object({
  port: z.coerce.number().int().min(0).max(65535),
  host: z.string().min(1),
  token: z.string().transform((t) => (t === '' ? undefined : t)),
  'current-signing-key': z.string().trim(),
  'next-signing-key': z.string().trim(),
  'allowed-origins': z.string().transform((s, ctx) => {
    const list = commaList(s);
    const bad = list.filter((o) => normalizeOrigin(o) === undefined);
    if (bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `${bad.map((b) => `"${b}"`).join(', ')}: each must be scheme://host[:port] or *`,
      });
      return z.NEVER;
    }
    return list.map((o) => normalizeOrigin(o)!);
  }),
  'allowed-hosts': z.string().transform((s, ctx) => {
    const list = commaList(s);
    const bad = list.filter((h) => h !== '*' && hostName(h) === undefined);
    if (bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `${bad.map((b) => `"${b}"`).join(', ')}: each must be a host name or *`,
      });
      return z.NEVER;
    }
    return list.map((h) => (h === '*' ? h : hostName(h)!));
  }),
  'max-body-bytes': z.string().transform((s, ctx) => {
    const n = Number(s.trim());
    if (s.trim() === '' || !Number.isSafeInteger(n) || n < 1) {
      ctx.addIssue({ code: 'custom', message: 'must be a whole number of bytes ≥ 1' });
      return z.NEVER;
    }
    return n;
  }),
  'global-parallelism': z.string().transform((s, ctx) => {
    if (s === '') return null;
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 1) {
      ctx.addIssue({ code: 'custom', message: 'must be a whole number ≥ 1' });
      return z.NEVER;
    }
    return n;
  }),
  'request-timeout': z.string().transform((s, ctx) => {
    const d = parseDuration(s);
    if (d === null || d < 1000) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration like 30s or 2m (at least 1s)' });
      return z.NEVER;
    }
    return d;
  }),
  'shutdown-timeout': z.string().transform((s, ctx) => {
    const d = parseDuration(s);
    if (d === null) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration like 30s or 2m (0s: none)' });
      return z.NEVER;
    }
    return d;
  }),
  'key-ttl': z.string().transform((s, ctx) => {
    if (s.trim() === 'off') return null;
    const d = parseDuration(s);
    if (d === null || d < 1000) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a duration like 1h or 30m (at least 1s), or off',
      });
      return z.NEVER;
    }
    return d;
  }),
  policy: z.enum(['fifo', 'random']),
  redis: z.string().transform((s, ctx) => {
    const url = s.trim();
    if (url === '') return null;
    if (!/^rediss?:\/\/[^\s]+$/.test(url) || !URL.canParse(url)) {
      ctx.addIssue({ code: 'custom', message: 'must be a URL like redis://127.0.0.1:6379' });
      return z.NEVER;
    }
    return url;
  }),
  'redis-prefix': z
    .string()
    .regex(/^[^\s{}]{1,64}$/, 'must be 1 to 64 characters, no spaces or braces'),
  'redis-lease': z.string().transform((s, ctx) => {
    const d = parseDuration(s);
    if (d === null || d < 1000) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration like 30s or 2m (at least 1s)' });
      return z.NEVER;
    }
    return d;
  }),
  'log-level': z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  ...retentionSchema,
});

export class ConfigError extends Error {}

const commaList = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');

/** Both keys, or the current one alone (then also the next); a next key alone is refused. */
function signingKeysOf(current: string, next: string): Config['signingKeys'] {
  if (current === '' && next === '') return null;
  if (current === '') {
    throw new ConfigError(
      'invalid configuration:\n  --next-signing-key (QSTASH_NEXT_SIGNING_KEY) is set without ' +
        '--current-signing-key (QSTASH_CURRENT_SIGNING_KEY): deliveries are signed with the current key',
    );
  }
  return { current, next: next === '' ? current : next };
}

export function helpText(): string {
  const rows = SETTINGS.map(
    (s) =>
      `  --${s.flag.padEnd(20)} ${s.env.padEnd(26)} ${s.help}${s.default === '' ? '' : ` (default ${s.default})`}`,
  );
  return [
    'Baton: a flow-control server you can watch (QStash-compatible).',
    '',
    'Usage: npm start -- [flags]      (or: tsx server/main.ts [flags])',
    '',
    '  flag                   environment variable       meaning',
    ...rows,
    '  --help                                            print this and exit',
    '',
    'Flags win over environment variables.',
  ].join('\n');
}

/** Reads flags and environment into a validated config; `help` when --help was asked. */
export function readConfig(
  argv: string[],
  env: Record<string, string | undefined>,
): Config | 'help' {
  const options = Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: 'string' as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean' } },
      strict: true,
    }).values;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n\n${helpText()}`);
  }
  if (values.help === true) return 'help';
  const raw = Object.fromEntries(
    SETTINGS.map((s) => [
      s.flag,
      (values[s.flag] as string | undefined) ?? env[s.env] ?? s.default,
    ]),
  );
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const s = SETTINGS.find((x) => x.flag === i.path[0]);
      return `  --${String(i.path[0])} (${s?.env}): ${i.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${problems.join('\n')}`);
  }
  const c = parsed.data;
  return {
    port: c.port,
    host: c.host,
    token: c.token,
    signingKeys: signingKeysOf(c['current-signing-key'], c['next-signing-key']),
    allowedOrigins: c['allowed-origins'],
    allowedHosts: c['allowed-hosts'],
    maxBodyBytes: c['max-body-bytes'],
    globalParallelism: c['global-parallelism'],
    requestTimeoutMs: c['request-timeout'],
    shutdownTimeoutMs: c['shutdown-timeout'],
    keyTtlMs: c['key-ttl'],
    policy: c.policy,
    redisUrl: c.redis,
    redisPrefix: c['redis-prefix'],
    redisLeaseMs: c['redis-lease'],
    logLevel: c['log-level'],
    retention: retentionOf(c),
  };
}
