/**
 * The Lua, built from lua/*.lua into one Redis Functions library: the shared rules
 * (lua/core-*.lua) first, every command (one file each) as a function, then the library's
 * functions: batch (runs a batch of commands), read, init and next-wake (which stands alone).
 * The library is loaded once (FUNCTION LOAD) when a store starts and its functions called by
 * name (FCALL), so the rules are built once per Redis rather than once per call. Its name carries
 * a hash of its code, so servers running different versions share a Redis without replacing each
 * other's library. Loaded again when Redis answers that a function is missing (after a restart
 * without persistence, or FUNCTION FLUSH).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command, type Redis } from 'ioredis';
import { MAX_BACKOFF, defaultBackoff } from '../../../shared/engine/retry';
import type { EngineEventType } from '../../../shared/events';
import { EVENT_SCHEMA, eventField } from './codec';

/** The commands, one file each, run by batch.lua. */
export const OPERATIONS = [
  'accept',
  'finish',
  'cancel',
  'pause',
  'resume',
  'pin',
  'unpin',
  'reset-rate',
  'set-global',
  'forget-idle',
  'wake',
  'renew',
  'release',
] as const;
export type Operation = (typeof OPERATIONS)[number];

export const SCRIPT_NAMES = ['init', 'batch', 'read', 'next-wake'] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

/** The shared rules, in library order (the event functions, emitters(), after the first). */
const CORE = ['core-records.lua', 'core-lists.lua', 'core-rules.lua', 'core-end.lua'];

export type ScriptArg = string | number | Buffer;

export interface Library {
  /** The library's name: `baton_` and a hash of its code. */
  name: string;
  /** Its source, for FUNCTION LOAD. */
  lua: string;
  /** Each function's name in Redis. */
  functions: Record<ScriptName, string>;
}

function source(file: string): string {
  return readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8');
}

/** The default backoff as a Lua table, from the engine's own function (beyond it: the cap). */
function backoffTable(): string {
  const steps: number[] = [];
  for (let n = 1; defaultBackoff(n) < MAX_BACKOFF; n++) steps.push(defaultBackoff(n));
  return `local BACKOFF = { ${steps.join(', ')} }\nlocal MAX_BACKOFF = ${MAX_BACKOFF}\n`;
}

/** The Lua function that writes an event of this type: `emitTokenHandedOff` for token:handed-off. */
export const emitterName = (type: EngineEventType): string =>
  `emit${type.replace(/(^|[:-])([a-z])/g, (_, __, c: string) => c.toUpperCase())}`;

/**
 * A Lua function per event type from EVENT_SCHEMA (codec.ts), taking the key and the type's
 * fields in the schema's order, e.g. `emitTokenReleased(key, messageId, inFlight)`: appends the
 * event to OUT, positional (see batch.lua), and takes its seq. Optional fields are written as
 * false when nil, nullable ones as msgpack nil (NULL); a hole would turn the array into a map.
 */
function emitters(): string {
  return Object.entries(EVENT_SCHEMA)
    .map(([type, { code, fields }]) => {
      const parsed = fields.map((f: string) => eventField(f));
      const fn = emitterName(type as EngineEventType);
      const params = ['key', ...parsed.map((f) => f.name)];
      const sets = parsed.map((f, i) => {
        const slot = `OUT[n + ${i + 3}]`;
        if (f.optional) return `  ${slot} = ${f.name} or false\n`;
        if (f.nullable)
          return `  if ${f.name} == nil then ${slot} = NULL else ${slot} = ${f.name} end\n`;
        return `  ${slot} = ${f.name}\n`;
      });
      return (
        `-- ${type}: ${['key', ...fields].join(', ')}\n` +
        `local function ${fn}(${params.join(', ')})\n  local n = NOUT\n` +
        `  OUT[n + 1] = ${code}\n  OUT[n + 2] = key\n${sets.join('')}` +
        `  NOUT = n + ${params.length + 1}\n  G.seq = G.seq + 1\nend\n`
      );
    })
    .join('');
}

let compiled: Library | null = null;

/** The library's source, name and functions, built once per process. */
export function library(): Library {
  if (compiled === null) {
    // Every command becomes a function of its arguments' first index and count (A, N).
    const operations = OPERATIONS.map(
      (op) => `OPS['${op}'] = function(A, N)\n${source(`${op}.lua`)}\nend\n`,
    ).join('');
    // batch, read and init run in the core frame (begin); next-wake takes its own KEYS and ARGV.
    const body = (name: ScriptName, fn: string) =>
      name === 'next-wake'
        ? `redis.register_function('${fn}', function(KEYS, ARGV)\n${source(`${name}.lua`)}\nend)\n`
        : `redis.register_function('${fn}', function(keys, args)\nbegin(keys, args)\n${source(`${name}.lua`)}\nend)\n`;
    const code = (prefix: string) =>
      `${backoffTable()}${source(CORE[0]!)}\n${emitters()}${CORE.slice(1).map(source).join('\n')}` +
      `\nlocal OPS = {}\n${operations}` +
      SCRIPT_NAMES.map((name) => body(name, `${prefix}_${name.replace('-', '_')}`)).join('');
    const hash = createHash('sha1').update(code('')).digest('hex').slice(0, 16);
    const name = `baton_${hash}`;
    const functions = Object.fromEntries(
      SCRIPT_NAMES.map((n) => [n, `${name}_${n.replace('-', '_')}`]),
    ) as Record<ScriptName, string>;
    compiled = { name, lua: `#!lua name=${name}\n${code(name)}`, functions };
  }
  return compiled;
}

/**
 * Commands to go to Redis in the same write as a script call, right behind it: sent with
 * `redis.sendCommand` while the call's write is held.
 */
export type Companion = (redis: Redis) => void;

const isMissing = (err: unknown): boolean =>
  err instanceof Error && err.message.includes('Function not found');

/**
 * The call, written to the connection at once (with its companions, the socket corked so that
 * they leave in one write) rather than at the end of the tick as auto-pipelining would: a batch
 * reaches Redis while the server still works through the replies that led to it, and script calls
 * reach Redis in the order they were made. Plain commands rather than an ioredis pipeline: a
 * pipeline copies every command of the client onto itself when made, about a kilobyte a batch,
 * and its objects outlived each young-generation GC.
 */
function send(
  redis: Redis,
  fn: string,
  space: string,
  args: readonly ScriptArg[],
  companion: Companion | undefined,
): Promise<unknown> {
  // Buffer replies (replyEncoding null).
  const call = new Command('fcall', [fn, 1, space, ...args], { replyEncoding: null });
  const stream = redis.status === 'ready' ? redis.stream : null;
  stream?.cork();
  try {
    void redis.sendCommand(call);
    companion?.(redis);
  } finally {
    stream?.uncork();
  }
  return call.promise;
}

/**
 * Calls one of the library's functions with one key (the deployment's hash-tagged prefix),
 * replies as Buffers; `companion` adds commands to the same write. When Redis answers that the
 * function is missing, the library is loaded again and the call repeated (with its companions):
 * an FCALL of a missing function ran nothing, so the repeat cannot apply a command twice.
 */
export async function runScript(
  redis: Redis,
  name: ScriptName,
  space: string,
  args: readonly ScriptArg[],
  companion?: Companion,
): Promise<unknown> {
  const fn = library().functions[name];
  try {
    return await send(redis, fn, space, args, companion);
  } catch (err) {
    if (!isMissing(err)) throw err;
    await loadScripts(redis);
    return await send(redis, fn, space, args, companion);
  }
}

/**
 * Loads the library (a store starting, or a function found missing). REPLACE: another server may
 * have loaded the same library meanwhile; its code is the same (the name is its hash).
 */
export async function loadScripts(redis: Redis): Promise<void> {
  await redis.function('LOAD', 'REPLACE', library().lua);
}

/**
 * What ioredis keeps of a connection that closed with commands unanswered (`prevCommandQueue`,
 * not part of its types): the commands, to send again once it reconnects.
 */
interface Unanswered {
  prevCommandQueue?: {
    length: number;
    shift(): { command: { reject(err: Error): void } } | undefined;
  } | null;
}

/**
 * Refuses the commands a connection had sent and not had answered when it closed: they may have
 * run or not. Call on its 'close' event (emitted after ioredis put them aside, before it can
 * reconnect). Sent again, a batch would run a second time what it did run: its accepts would
 * fail as "already accepted" although they were taken, and an accept whose message ended meanwhile
 * would take it in again, a second delivery. The store is built with
 * `autoResendUnfulfilledCommands: false`, under which ioredis 5 drops such commands without
 * settling them (redis/ioredis#2193): this settles them first.
 */
export function refuseUnanswered(redis: Redis): void {
  const stash = (redis as unknown as Unanswered).prevCommandQueue;
  if (stash == null) return;
  const err = new Error(
    'the connection to Redis closed before it answered: the command may or may not have run',
  );
  for (let item = stash.shift(); item !== undefined; item = stash.shift()) item.command.reject(err);
}
