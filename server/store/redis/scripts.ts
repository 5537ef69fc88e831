/**
 * The Lua scripts, built from lua/*.lua: the shared rules (lua/core-*.lua) first, then either
 * every command (one file each) as a function and the loop that runs a batch of them (batch),
 * or the reads (read) or the start (init); next-wake stands alone. Loaded once when a store
 * starts, called by SHA, loaded again when Redis answers NOSCRIPT (after a restart or SCRIPT
 * FLUSH).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { MAX_BACKOFF, defaultBackoff } from '../../../shared/engine/retry';

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
] as const;
export type Operation = (typeof OPERATIONS)[number];

export const SCRIPT_NAMES = ['init', 'batch', 'read', 'next-wake'] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

/** The shared rules, in the order they are put before each script. */
const CORE = ['core-records.lua', 'core-lists.lua', 'core-rules.lua', 'core-end.lua'];

export type ScriptArg = string | number | Buffer;

interface Script {
  lua: string;
  sha: string;
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

let compiled: Map<ScriptName, Script> | null = null;

/** The scripts' sources and SHAs, read once per process. */
export function scripts(): Map<ScriptName, Script> {
  if (compiled === null) {
    const core = CORE.map(source).join('\n');
    const header = backoffTable();
    compiled = new Map();
    // Every command becomes a function of its arguments' first index and count (A, N).
    const operations = OPERATIONS.map(
      (op) => `OPS['${op}'] = function(A, N)\n${source(`${op}.lua`)}\nend\n`,
    ).join('');
    for (const name of SCRIPT_NAMES) {
      const lua =
        name === 'batch'
          ? `${header}${core}\nlocal OPS = {}\n${operations}${source('batch.lua')}`
          : name === 'next-wake'
            ? source('next-wake.lua')
            : `${header}${core}\n${source(`${name}.lua`)}`;
      compiled.set(name, { lua, sha: createHash('sha1').update(lua).digest('hex') });
    }
  }
  return compiled;
}

/**
 * `EVALSHA` with Buffer replies. ioredis generates `evalshaBuffer` for every connection but does
 * not type it; `callBuffer('EVALSHA', …)` would lose its command name under auto-pipelining.
 */
type EvalShaBuffer = (sha: string, keys: number, ...args: ScriptArg[]) => Promise<unknown>;

function evalsha(redis: Redis): EvalShaBuffer {
  const fn = (redis as unknown as { evalshaBuffer: EvalShaBuffer }).evalshaBuffer;
  return fn.bind(redis);
}

const isNoScript = (err: unknown): boolean =>
  err instanceof Error && err.message.startsWith('NOSCRIPT');

/**
 * Runs a script by SHA with one key (the deployment's hash-tagged prefix), replies as Buffers.
 * On NOSCRIPT the script is loaded again and the call repeated: EVALSHA that answered NOSCRIPT
 * ran nothing, so the repeat cannot apply a command twice.
 */
export async function runScript(
  redis: Redis,
  name: ScriptName,
  space: string,
  args: readonly ScriptArg[],
): Promise<unknown> {
  const script = scripts().get(name);
  if (script === undefined) throw new Error(`no script ${name}`);
  try {
    return await evalsha(redis)(script.sha, 1, space, ...args);
  } catch (err) {
    if (!isNoScript(err)) throw err;
    await redis.script('LOAD', script.lua);
    return await evalsha(redis)(script.sha, 1, space, ...args);
  }
}

/** Loads every script (a store starting), so the first commands are called by SHA at once. */
export async function loadScripts(redis: Redis): Promise<void> {
  await Promise.all([...scripts().values()].map((s) => redis.script('LOAD', s.lua)));
}
