/**
 * The message log in Redis against this process's `MessageLog`, its rules' source: the same
 * publishes and events, in any batches, sent by one to three servers, give the same answers.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { EngineEvent } from '../../../shared/events';
import { keyId, messageId, type MessageId, type Millis } from '../../../shared/engine/units';
import { MessageLog, type LoggedMessage } from '../../flow/message-log';
import type { RetentionLimit } from '../../flow/retention';
import type { Redaction } from '../../../shared/protocol/redact';
import { testRedisUrl } from '../contract/test-redis-url';
import { keyspace } from './keys';
import { RedisMessages, type RedisMessagesOptions } from './messages';
import { StreamFollower } from './stream-follower';
import { deletePrefix, testPrefix } from './testing';

const unbounded: RetentionLimit = { maxBytes: Number.MAX_SAFE_INTEGER, maxAgeMs: null };

const closers = new Map<RedisMessages, () => Promise<void>>();

function open(
  prefix: string,
  options: Partial<RedisMessagesOptions> = {},
  closeAfter = true,
): RedisMessages {
  const warnings: string[] = [];
  const log = new RedisMessages({
    url: testRedisUrl(),
    prefix,
    history: unbounded,
    deadLetters: unbounded,
    warn: (msg, err) => warnings.push(`${msg} ${String(err ?? '')}`),
    ...options,
  });
  log.start();
  const close = async () => {
    await log.close();
    expect(warnings).toEqual([]);
  };
  if (closeAfter) onTestFinished(close);
  else closers.set(log, close);
  return log;
}

/** A message's payload as the publisher records it (the optional fields present, unset). */
function payloadOf(extra: { body?: Uint8Array } = {}) {
  return {
    destination: 'sim://x',
    method: 'POST',
    headers: {},
    ...extra,
    timeoutMs: undefined,
    retryDelay: undefined,
    redact: undefined,
  };
}

function newPrefix(): string {
  const prefix = testPrefix('messages');
  onTestFinished(() => deletePrefix(prefix, testRedisUrl()));
  return prefix;
}

/** What the API shows of a message, with absent fields left out. */
function shown(m: LoggedMessage | undefined) {
  if (m === undefined) return undefined;
  return JSON.parse(
    JSON.stringify({ ...m, handle: m.handle !== undefined, attempts: [...m.attempts] }, (_k, v) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('base64') : (v as unknown),
    ),
  ) as unknown;
}

type Step =
  | { kind: 'waitlisted' }
  | { kind: 'start'; handedOff: boolean }
  | { kind: 'fail'; retry: boolean; status?: number }
  | { kind: 'succeed' }
  | { kind: 'cancel' };

/** One message's life: accepted (maybe delayed), attempts, and an end (or none yet). */
const lifeArb = fc
  .record({
    delayed: fc.boolean(),
    attempts: fc.nat({ max: 3 }),
    end: fc.constantFrom('delivered', 'dead', 'cancelled', 'open'),
    body: fc.option(fc.uint8Array({ minLength: 1, maxLength: 40 }), { nil: undefined }),
    label: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
    // An empty header list too: Lua's cjson writes it back as {} (messages.ts reads it as []).
    redact: fc.option(
      fc.constantFrom<Redaction>(
        { body: true, headers: [] },
        { body: false, headers: ['x-secret'] },
        { body: false, headers: true },
      ),
      { nil: undefined },
    ),
  })
  .map(({ delayed, attempts, end, body, label, redact }) => {
    const steps: Step[] = [];
    if (!delayed) steps.push({ kind: 'waitlisted' });
    for (let i = 0; i < attempts; i++) {
      steps.push({ kind: 'start', handedOff: i % 2 === 1 });
      steps.push({ kind: 'fail', retry: true, status: i % 2 === 0 ? 503 : undefined });
      steps.push({ kind: 'waitlisted' });
    }
    if (end === 'delivered') steps.push({ kind: 'start', handedOff: false }, { kind: 'succeed' });
    if (end === 'dead')
      steps.push({ kind: 'start', handedOff: true }, { kind: 'fail', retry: false, status: 500 });
    if (end === 'cancelled') steps.push({ kind: 'cancel' });
    return { delayed, steps, body, label, redact };
  });

describe('the message log in Redis', () => {
  it('answers as the memory log does, whatever the batches and however many servers send them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(lifeArb, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat({ max: 1000 }), { minLength: 40, maxLength: 200 }),
        fc.integer({ min: 1, max: 3 }),
        async (lives, choices, servers) => {
          const prefix = testPrefix('messages');
          const memory = new MessageLog({ history: unbounded, deadLetters: unbounded });
          const redis = Array.from({ length: servers }, () => open(prefix, {}, false));
          try {
            const KEY = keyId('k');
            let seq = 0;
            let now = 1_000;
            const pendingEvents: EngineEvent[] = [];
            const ids: MessageId[] = [];
            // Accept every message (in order), then play their steps interleaved.
            for (const [i, life] of lives.entries()) {
              const id = messageId(`msg_${i}`);
              ids.push(id);
              const payload = {
                destination: `sim://x/${i}`,
                method: 'POST',
                headers: { 'content-type': 'text/plain' },
                body: life.body,
                timeoutMs: undefined,
                retryDelay: undefined,
                redact: life.redact,
              };
              memory.accepted(id, KEY, payload, now as Millis, life.label).handle = {
                id,
                data: undefined,
              };
              await redis[i % servers]!.accepted(id, KEY, payload, now as Millis, life.label);
              pendingEvents.push({
                seq: ++seq,
                at: now as Millis,
                type: 'message:accepted',
                key: KEY,
                messageId: id,
                ...(life.delayed ? { notBefore: (now + 5_000) as Millis } : {}),
              } as EngineEvent);
            }
            const cursors = lives.map(() => 0);
            let c = 0;
            const event = (e: Record<string, unknown>) =>
              pendingEvents.push({ seq: ++seq, at: now as Millis, key: KEY, ...e } as EngineEvent);
            for (;;) {
              const open_ = lives
                .map((_, i) => i)
                .filter((i) => cursors[i]! < lives[i]!.steps.length);
              if (open_.length === 0) break;
              const i = open_[(choices[c++ % choices.length] ?? 0) % open_.length]!;
              const step = lives[i]!.steps[cursors[i]!++]!;
              const id = ids[i]!;
              now += 7;
              const attempt = lives[i]!.steps.slice(0, cursors[i]! - 1).filter(
                (s) => s.kind === 'start',
              ).length;
              switch (step.kind) {
                case 'waitlisted':
                  event({
                    type: 'message:waitlisted',
                    messageId: id,
                    reason: 'parallelism',
                    position: 1,
                  });
                  break;
                case 'start':
                  if (step.handedOff)
                    event({
                      type: 'token:handed-off',
                      from: messageId('msg_x'),
                      to: id,
                      attempt,
                      waitedMs: 3,
                    });
                  else
                    event({
                      type: 'token:acquired',
                      messageId: id,
                      attempt,
                      inFlight: 1,
                      waitedMs: 0,
                    });
                  break;
                case 'fail':
                  event({
                    type: 'delivery:failed',
                    messageId: id,
                    attempt: attempt - 1,
                    ...(step.status !== undefined ? { status: step.status } : {}),
                    error: 'boom',
                    durationMs: 2,
                    retryAt: step.retry ? now + 1_000 : null,
                  });
                  if (!step.retry)
                    event({ type: 'message:dead-lettered', messageId: id, reason: 'status 500' });
                  break;
                case 'succeed':
                  event({
                    type: 'delivery:succeeded',
                    messageId: id,
                    attempt: attempt - 1,
                    status: 200,
                    durationMs: 2,
                  });
                  event({ type: 'message:delivered', messageId: id });
                  break;
                case 'cancel':
                  event({ type: 'message:cancelled', messageId: id });
                  break;
              }
            }
            // Batches of any size; every server gets every batch, in order.
            let at = 0;
            while (at < pendingEvents.length) {
              const size = 1 + ((choices[c++ % choices.length] ?? 0) % 7);
              const batch = pendingEvents.slice(at, at + size);
              at += size;
              memory.apply(batch);
              for (const r of redis) r.apply(batch);
            }
            for (const r of redis) await r.settled();
            for (const r of redis) {
              for (const id of ids) expect(shown(await r.get(id))).toEqual(shown(memory.get(id)));
              expect((await r.deadLetters()).map(shown)).toEqual(
                [...memory.deadLetters()].map(shown),
              );
              expect((await r.pending()).map((m) => m.messageId)).toEqual(
                [...memory.pending()].map((m) => m.messageId),
              );
            }
          } finally {
            for (const r of redis) await closers.get(r)!();
            await deletePrefix(prefix, testRedisUrl());
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  async function deadLetter(log: RedisMessages, n: number, at: number, seq: number, bytes = 10) {
    const id = messageId(`msg_${n}`);
    await log.accepted(
      id,
      null,
      payloadOf({ body: new Uint8Array(bytes).fill(120) }),
      at as Millis,
    );
    log.apply([
      { seq, at, type: 'message:accepted', key: keyId('k'), messageId: id },
      {
        seq: seq + 1,
        at,
        type: 'message:dead-lettered',
        key: keyId('k'),
        messageId: id,
        reason: 'status 500',
      },
    ] as EngineEvent[]);
    await log.settled();
    return id;
  }

  it('forgets dead letters over their age or bytes, oldest first, and says so', async () => {
    const prefix = newPrefix();
    let now = 1_000;
    const dropped: Array<[string, string]> = [];
    const log = open(prefix, {
      deadLetters: { maxBytes: 100_000, maxAgeMs: 10_000 },
      now: () => now,
      onDeadLetterDropped: (m, why) => dropped.push([m.dlqId, why]),
    });
    await deadLetter(log, 1, now, 1);
    now = 8_000;
    await deadLetter(log, 2, now, 3);
    now = 12_000;
    await deadLetter(log, 3, now, 5);
    expect(dropped).toEqual([['dlq_1', 'age']]);
    expect((await log.deadLetters()).map((m) => m.dlqId)).toEqual(['dlq_2', 'dlq_3']);
    // Still in the history, without its body.
    expect((await log.get(messageId('msg_1')))?.payload.body).toBeUndefined();

    const big = open(newPrefix(), {
      deadLetters: { maxBytes: 1_500, maxAgeMs: null },
      onDeadLetterDropped: (m, why) => dropped.push([m.dlqId, why]),
    });
    await deadLetter(big, 4, 1, 1, 400);
    await deadLetter(big, 5, 2, 3, 400);
    await deadLetter(big, 6, 3, 5, 400);
    expect(dropped.slice(1)).toEqual([['dlq_4', 'bytes']]);
    expect((await big.deadLetters()).map((m) => m.dlqId)).toEqual(['dlq_5', 'dlq_6']);
    expect(await big.removeDeadLetter('dlq_5')).toBe(true);
    expect(await big.removeDeadLetter('dlq_5')).toBe(false);
    expect((await big.deadLetters()).map((m) => m.dlqId)).toEqual(['dlq_6']);
  });

  it('leaves the events to the server applying them, and applies them itself once that one is gone', async () => {
    const prefix = newPrefix();
    const follower = () =>
      new StreamFollower({
        url: testRedisUrl(),
        prefix,
        what: 'message log',
        warn: () => {},
        leaseMs: 300,
      });
    const a = open(prefix, { follower: follower() });
    const b = open(prefix, { follower: follower() });
    const id = messageId('msg_1');
    const payload = payloadOf();
    await a.accepted(id, keyId('k'), payload, 1_000 as Millis);
    const base = { key: keyId('k'), messageId: id };
    const taken = { ...base, seq: 1, at: 1_000, type: 'message:accepted' } as EngineEvent;
    const rest = [
      { ...base, seq: 2, at: 1_010, type: 'token:acquired', attempt: 0, inFlight: 1, waitedMs: 0 },
      {
        ...base,
        seq: 3,
        at: 1_020,
        type: 'delivery:succeeded',
        attempt: 0,
        status: 200,
        durationMs: 9,
      },
      { ...base, seq: 4, at: 1_020, type: 'message:delivered' },
    ] as EngineEvent[];
    // a applies the first batch, and holds the lease for 300 ms.
    a.apply([taken]);
    await a.settled();
    // b hears both batches; a stops before it hears the second (as if it died between the
    // stream entry and its apply).
    b.apply([taken]);
    b.apply(rest);
    const redis = new Redis(testRedisUrl());
    onTestFinished(async () => void redis.disconnect());
    await new Promise((r) => setTimeout(r, 50));
    // a's lease stands: b leaves the events to it.
    expect(await redis.get(`${keyspace(prefix)}mlseq`)).toBe('1');
    // Once the lease runs out, b applies them.
    await b.settled();
    expect(await redis.get(`${keyspace(prefix)}mlseq`)).toBe('4');
    expect(await a.get(id)).toMatchObject({ status: 'delivered', attempts: [{ status: 200 }] });
  });

  it('follows a document written by an earlier version, whose state is in the document', async () => {
    const prefix = newPrefix();
    const log = open(prefix);
    const id = messageId('msg_1');
    const redis = new Redis(testRedisUrl());
    onTestFinished(async () => void redis.disconnect());
    const space = keyspace(prefix);
    await redis.hset(
      `${space}ml:${id}`,
      'd',
      JSON.stringify({
        messageId: id,
        flowControlKey: 'k',
        payload: { destination: 'sim://x', method: 'POST', headers: {} },
        createdAt: 1_000,
        status: 'retry-scheduled',
        attempts: [{ attempt: 0, startedAt: 1_010, endedAt: 1_020, status: 503 }],
        nextAt: 2_000,
      }),
      'b',
      'hi',
    );
    await redis.zadd(`${space}mll`, 1, id);
    const base = { key: keyId('k'), messageId: id };
    log.apply([
      { ...base, seq: 1, at: 2_000, type: 'token:acquired', attempt: 1, inFlight: 1, waitedMs: 0 },
    ] as EngineEvent[]);
    await log.settled();
    expect(await log.get(id)).toMatchObject({
      status: 'in-flight',
      attempts: [
        { attempt: 0, status: 503 },
        { attempt: 1, startedAt: 2_000 },
      ],
      createdAt: 1_000,
    });
    expect((await log.get(id))?.nextAt).toBeUndefined();
    log.apply([
      {
        ...base,
        seq: 2,
        at: 2_010,
        type: 'delivery:succeeded',
        attempt: 1,
        status: 200,
        durationMs: 9,
      },
      { ...base, seq: 3, at: 2_010, type: 'message:delivered' },
    ] as EngineEvent[]);
    await log.settled();
    expect(await log.get(id)).toMatchObject({ status: 'delivered', endedAt: 2_010 });
    expect(await log.pending()).toEqual([]);
  });

  it('catches up, when it starts, with events written while no server followed them', async () => {
    const prefix = newPrefix();
    const first = open(prefix);
    const id = await deadLetter(first, 1, 1_000, 1);
    const later = messageId('msg_2');
    await first.accepted(later, null, payloadOf(), 1_000 as Millis);
    // Events the stream holds that no log applied (every server was down when they came).
    const redis = new Redis(testRedisUrl());
    const events = [
      { seq: 3, at: 2_000, type: 'message:accepted', key: 'k', messageId: later },
      {
        seq: 4,
        at: 2_000,
        type: 'token:acquired',
        key: 'k',
        messageId: later,
        attempt: 0,
        inFlight: 1,
        waitedMs: 0,
      },
      {
        seq: 5,
        at: 2_100,
        type: 'delivery:succeeded',
        key: 'k',
        messageId: later,
        attempt: 0,
        status: 204,
        durationMs: 100,
      },
      { seq: 6, at: 2_100, type: 'message:delivered', key: 'k', messageId: later },
    ];
    await redis.xadd(
      `${keyspace(prefix)}events`,
      '*',
      'o',
      'x',
      'c',
      '1:4',
      'e',
      JSON.stringify(events),
    );
    redis.disconnect();
    const restarted = open(prefix);
    await restarted.settled();
    expect(await restarted.get(later)).toMatchObject({
      status: 'delivered',
      attempts: [{ status: 204 }],
    });
    expect((await restarted.get(id))?.status).toBe('failed');
  });
});
