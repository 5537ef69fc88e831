/**
 * The events' positional form end to end: every event type written by the Lua function
 * scripts.ts makes for it from EVENT_SCHEMA (in the library as Redis loads it), packed as
 * batch.lua packs them, and read back by decodeEvents into the event the engine emits, with
 * optional fields present and absent, nullable ones set and null.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../../shared/events';
import { testRedisUrl } from '../contract/test-redis-url';
import { EVENT_SCHEMA, decodeEvents, eventField } from './codec';
import { emitterName, library } from './scripts';

let redis: Redis | null = null;
afterAll(() => redis?.disconnect());

type Sample = Omit<EngineEvent, 'seq' | 'at'>;

const SAMPLES: Sample[] = [
  { type: 'message:accepted', key: 'k', messageId: 'm1' },
  { type: 'message:accepted', key: 'k', messageId: 'm1', notBefore: 9_000 },
  { type: 'message:waitlisted', key: 'k', messageId: 'm1', reason: 'rate', position: 3 },
  { type: 'token:acquired', key: 'k', messageId: 'm1', attempt: 0, inFlight: 2, waitedMs: 0 },
  {
    type: 'token:acquired',
    key: 'k',
    messageId: 'm1',
    attempt: 1,
    inFlight: 1,
    rateCount: 4,
    ratePeriodStart: 1_000,
    waitedMs: 12.5,
  },
  { type: 'token:handed-off', key: 'k', from: 'm1', to: 'm2', attempt: 0, waitedMs: 7 },
  {
    type: 'token:handed-off',
    key: 'k',
    from: 'm1',
    to: 'm2',
    attempt: 2,
    waitedMs: 7,
    rateCount: 1,
    ratePeriodStart: 2_000,
  },
  { type: 'token:released', key: 'k', messageId: 'm1', inFlight: 0 },
  { type: 'delivery:succeeded', key: 'k', messageId: 'm1', attempt: 0, durationMs: 3 },
  {
    type: 'delivery:succeeded',
    key: 'k',
    messageId: 'm1',
    attempt: 0,
    status: 204,
    durationMs: 3,
  },
  {
    type: 'delivery:failed',
    key: 'k',
    messageId: 'm1',
    attempt: 1,
    durationMs: 4,
    retryAt: null,
  },
  {
    type: 'delivery:failed',
    key: 'k',
    messageId: 'm1',
    attempt: 1,
    status: 500,
    error: 'boom ✗',
    durationMs: 4,
    retryAt: 16_000,
  },
  { type: 'message:delivered', key: 'k', messageId: 'm1' },
  { type: 'message:dead-lettered', key: 'k', messageId: 'm1', reason: '1 attempt failed: x' },
  { type: 'message:cancelled', key: 'k', messageId: 'm1' },
  {
    type: 'key:configured',
    key: 'k',
    source: 'message',
    parallelism: null,
    rate: null,
    periodMs: 1_000,
    pinnedParallelism: false,
    pinnedRate: false,
    ratePeriodStart: 0,
    rateCount: 0,
  },
  {
    type: 'key:configured',
    key: 'k',
    source: 'pin',
    parallelism: 3,
    rate: 10,
    periodMs: 60_000,
    pinnedParallelism: true,
    pinnedRate: true,
    ratePeriodStart: 5_000,
    rateCount: 2,
  },
  { type: 'key:paused', key: 'k' },
  { type: 'key:resumed', key: 'k' },
  { type: 'key:rate-reset', key: 'k', ratePeriodStart: 8_000 },
  { type: 'key:forgotten', key: 'k' },
  { type: 'lease:expired', key: 'k', messageId: 'm1' },
  { type: 'global:configured', key: '$', parallelism: null },
  { type: 'global:configured', key: '$', parallelism: 40 },
] as Sample[];

const lua = (v: unknown): string =>
  v === undefined || v === null ? 'nil' : typeof v === 'string' ? JSON.stringify(v) : String(v);

/** Calls each sample's Lua function in the library's scope; answers the batch's events as packed. */
async function packed(samples: Sample[]): Promise<Buffer> {
  const calls = samples.map((s) => {
    const fields = EVENT_SCHEMA[s.type].fields.map(
      (f: string) => (s as Record<string, unknown>)[eventField(f).name],
    );
    return `${emitterName(s.type)}(${[s.key, ...fields].map(lua).join(', ')})`;
  });
  const body = library()
    .lua.replace(/^#!lua[^\n]*\n/, '')
    .replaceAll('redis.register_function(', 'register(');
  const script = `
local function register() end
do
${body}
NULL = cjson.null
G = { seq = 0 }
OUT, NOUT = { 7, ${samples.length}, 1, 5000 }, 4
${calls.join('\n')}
return cmsgpack.pack(OUT)
end`;
  redis ??= new Redis(testRedisUrl());
  const evalBuffer = (redis as unknown as { evalBuffer: (...a: unknown[]) => Promise<Buffer> })
    .evalBuffer;
  return evalBuffer.call(redis, script, 0);
}

describe('events', () => {
  it('cover every event type', () => {
    expect(new Set(SAMPLES.map((s) => s.type))).toEqual(new Set(Object.keys(EVENT_SCHEMA)));
    const codes = Object.values(EVENT_SCHEMA).map((s) => s.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('come out of the Lua and back as the events the engine emits', async () => {
    const events = SAMPLES.map((s, i) => ({ ...s, seq: i + 1, at: 5_000 }));
    const decoded = decodeEvents(await packed(SAMPLES));
    expect(decoded).toEqual([{ no: 7, events }]);
    // Absent optional fields are absent, not undefined.
    expect(decoded[0]!.events.map((e) => Object.keys(e).length)).toEqual(
      events.map((e) => Object.keys(e).length),
    );
  });
});
