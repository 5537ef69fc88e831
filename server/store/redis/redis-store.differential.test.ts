/**
 * The Redis store against the memory store, command by command: the engine's random scenarios
 * (shared/engine/testing/scenario.ts) played on both with one clock, and everything each says
 * compared field by field — every command's events, every message's view, the whole snapshot and
 * the next wake-up. The contract suite checks the rules; this checks the Lua says exactly what
 * the TypeScript engine says.
 *
 * Wake-ups due at the same instant run in the order they were set in Redis; the engine's heap
 * runs them in heap order. The scenarios are nudged so no two wake-ups share an instant (each
 * command runs at its own fraction of a millisecond), which leaves the rules, not the tie order,
 * under test.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../../shared/events';
import {
  KEYS,
  RANDOM_WINDOW,
  resultOf,
  scenario,
  type Scenario,
} from '../../../shared/engine/testing/scenario';
import type { FlowConfig, HandoffPolicy, MessageHandle } from '../../../shared/engine/types';
import { keyId, messageId, ms } from '../../../shared/engine/units';
import type { FlowStore } from '../flow-store';
import { MemoryStore } from '../memory-store';
import { Redis } from 'ioredis';
import { keyspace } from './keys';
import { RedisStore } from './redis-store';
import { TEST_REDIS_URL, deletePrefix, payloadOf, testPrefix } from './testing';

const RUNS = Number(process.env['BATON_DIFF_RUNS'] ?? 60);
/** `seed:path` of a failure to replay (fast-check prints both). */
const REPLAY = process.env['BATON_DIFF_REPLAY']?.split(':');
const DEBUG = process.env['BATON_DIFF_DEBUG'] === '1';

/** JSON's view of a value: fields set to undefined drop out, as they do on the wire. */
const plain = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

class Side<S extends FlowStore = FlowStore> {
  readonly accepted = new Map<string, MessageHandle>();
  readonly running = new Map<string, MessageHandle>();
  constructor(readonly store: S) {
    store.onStart((h) => this.running.set(h.id, h));
  }
}

/** Keys of a drained deployment other than its global state, keys, wake-ups and events. */
async function leftovers(prefix: string): Promise<string[]> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    const space = keyspace(prefix);
    const all = await redis.keys(`${space.replace(/[*?[\]]/g, (c) => `\\${c}`)}*`);
    return all
      .map((k) => k.slice(space.length))
      .filter((k) => !['g', 'keys', 'wake', 'events'].includes(k) && !k.startsWith('k:'));
  } finally {
    redis.disconnect();
  }
}

async function play(policy: HandoffPolicy, s: Scenario): Promise<void> {
  // Each command a little later than the last, at its own fraction of a ms (1/128 steps: exact in
  // binary, few digits in JSON), so instants set by different commands never meet.
  let t = 0;
  let step = 0;
  const clock = { now: () => ms(t) };
  const options = {
    clock,
    policy,
    seed: s.seed,
    randomWindow: RANDOM_WINDOW,
    globalParallelism: s.globalParallelism,
  };
  const prefix = testPrefix('diff');
  const mem = new Side<MemoryStore>(new MemoryStore(options));
  const red = new Side(
    await RedisStore.open({ ...options, url: TEST_REDIS_URL, prefix, leaseMs: 1e12 }),
  );
  const log: string[] = [];
  const advance = (to: number): void => {
    step++;
    t = Math.floor(Math.max(t, to)) + 1 + (step % 127) / 128;
  };
  const compare = async (what: string, a: EngineEvent[], b: EngineEvent[]): Promise<void> => {
    log.push(what);
    if (DEBUG) console.log(what, JSON.stringify(a));
    const where = `after ${log.slice(-6).join(' → ')}`;
    expect(plain(b), `events ${where}`).toEqual(plain(a));
    const [sa, sb] = await Promise.all([mem.store.snapshot(1e6), red.store.snapshot(1e6)]);
    expect(plain(sb), `snapshot ${where}`).toEqual(plain(sa));
    for (const [id, h] of mem.accepted) {
      const hb = red.accepted.get(id) as MessageHandle;
      expect(await red.store.message(hb), `message ${id} ${where}`).toEqual(mem.store.message(h));
    }
    expect(await red.store.nextWakeAt(), `next wake-up ${where}`).toEqual(mem.store.nextWakeAt());
  };
  const run = async (what: string, f: (side: Side) => unknown): Promise<void> => {
    const a = await f(mem);
    const b = await f(red);
    const ea = (Array.isArray(a) ? a : (a as { events: EngineEvent[] }).events) as EngineEvent[];
    const eb = (Array.isArray(b) ? b : (b as { events: EngineEvent[] }).events) as EngineEvent[];
    await compare(what, ea, eb);
  };
  const inFlight = (): string[] =>
    [...mem.running.keys()].filter((id) => {
      const h = mem.accepted.get(id);
      return h !== undefined && mem.store.message(h)?.state === 'in-flight';
    });
  let nextId = 0;
  try {
    for (const c of s.cmds) {
      switch (c.t) {
        case 'publish': {
          const preset = s.presets[KEYS.indexOf(c.key as (typeof KEYS)[number])] ?? null;
          const config: FlowConfig | null = c.config === 'preset' ? preset : c.config;
          for (let i = 0; i < c.count; i++) {
            advance(t);
            const id = `m${++nextId}`;
            const input = {
              id: messageId(id),
              ...(c.key !== null ? { key: keyId(c.key) } : {}),
              ...(config !== null ? { config } : {}),
              retries: c.retries,
              ...(c.delay !== null ? { notBefore: ms(t + c.delay) } : {}),
            };
            await run(`publish ${id}`, async (side) => {
              const r = await side.store.accept(input, payloadOf(id));
              side.accepted.set(id, r.message);
              return r;
            });
          }
          break;
        }
        case 'finish': {
          const ids = inFlight();
          const id = ids[c.pick % Math.max(1, ids.length)];
          if (id === undefined) break;
          advance(t);
          const result = resultOf(c.outcome, c.delayMs);
          await run(`finish ${id} ${c.outcome}`, (side) =>
            side.store.finish(side.running.get(id) as MessageHandle, result),
          );
          break;
        }
        case 'advance':
          advance(t + c.dt);
          await run(`advance ${c.dt}`, (side) => side.store.wake());
          break;
        case 'wake': {
          const w = mem.store.nextWakeAt();
          // To the wake-up itself (no fraction: it is due exactly then).
          if (w !== null && w > t) t = w;
          await run('wake', (side) => side.store.wake());
          break;
        }
        case 'pause':
        case 'resume':
        case 'reset-rate': {
          advance(t);
          const k = keyId(c.key);
          await run(`${c.t} ${c.key}`, (side) =>
            c.t === 'pause'
              ? side.store.pause(k)
              : c.t === 'resume'
                ? side.store.resume(k)
                : side.store.resetRate(k),
          );
          break;
        }
        case 'pin':
          advance(t);
          await run(`pin ${c.key} ${JSON.stringify(c.pin)}`, (side) =>
            side.store.pin(keyId(c.key), c.pin),
          );
          break;
        case 'unpin':
          advance(t);
          await run(`unpin ${c.key}`, (side) =>
            side.store.unpin(keyId(c.key), { parallelism: c.parallelism, rate: c.rate }),
          );
          break;
        case 'cancel': {
          const ids = [...mem.accepted.keys()];
          const id = ids[c.pick % Math.max(1, ids.length)];
          if (id === undefined) break;
          advance(t);
          await run(`cancel ${id}`, (side) =>
            side.store.cancel(side.accepted.get(id) as MessageHandle),
          );
          break;
        }
        case 'global':
          advance(t);
          await run(`global ${c.parallelism}`, (side) =>
            side.store.setGlobalParallelism(c.parallelism),
          );
          break;
        case 'forget':
          advance(t);
          await run(`forget ${c.idleMs}`, (side) => side.store.forgetIdleKeys(ms(c.idleMs)));
          break;
      }
    }
    // Drain both, as the contract does; then Redis holds no record of any message.
    for (const { key } of mem.store.keys()) {
      advance(t);
      await run(`resume ${key}`, (side) => side.store.resume(key));
      await run(`unpin ${key}`, (side) => side.store.unpin(key, { parallelism: true, rate: true }));
    }
    await run('global null', (side) => side.store.setGlobalParallelism(null));
    for (let round = 0; round < 1_000; round++) {
      const ids = inFlight();
      if (ids.length > 0) {
        for (const id of ids) {
          advance(t);
          await run(`finish ${id} ok`, (side) =>
            side.store.finish(side.running.get(id) as MessageHandle, { ok: true }),
          );
        }
        continue;
      }
      const w = mem.store.nextWakeAt();
      if (w === null) break;
      if (w > t) t = w;
      await run('wake', (side) => side.store.wake());
    }
    expect(mem.store.snapshot(0).engine.stats.accepted).toBe(nextId);
    expect(await leftovers(prefix)).toEqual([]);
  } finally {
    await red.store.close();
    await deletePrefix(prefix);
  }
}

describe('the Redis store, command by command against the memory store', () => {
  for (const policy of ['fifo', 'random'] as const) {
    it(
      `says what the engine says (${policy})`,
      { timeout: Math.max(300_000, RUNS * 1_000) },
      async () => {
        await fc.assert(
          fc.asyncProperty(scenario, (s) => play(policy, s)),
          {
            numRuns: RUNS,
            endOnFailure: true,
            ...(REPLAY !== undefined ? { seed: Number(REPLAY[0]), path: REPLAY[1] } : {}),
          },
        );
      },
    );
  }
});
