import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseDuration } from '../shared/protocol/duration';

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
    flag: 'log-level',
    env: 'LOG_LEVEL',
    default: 'info',
    help: 'pino log level: fatal, error, warn, info, debug, trace, silent',
  },
] as const;

export interface Config {
  port: number;
  host: string;
  token: string | undefined;
  globalParallelism: number | null;
  requestTimeoutMs: number;
  /** null: keys are never forgotten. */
  keyTtlMs: number | null;
  policy: 'fifo' | 'random';
  logLevel: string;
}

const schema = z.object({
  port: z.coerce.number().int().min(0).max(65535),
  host: z.string().min(1),
  token: z.string().transform((t) => (t === '' ? undefined : t)),
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
  'log-level': z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
});

export class ConfigError extends Error {}

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
    globalParallelism: c['global-parallelism'],
    requestTimeoutMs: c['request-timeout'],
    keyTtlMs: c['key-ttl'],
    policy: c.policy,
    logLevel: c['log-level'],
  };
}
