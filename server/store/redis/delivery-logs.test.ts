/**
 * The logs in Redis against this process's `DeliveryLogs`, their rules' source: the same messages
 * and events, in any batches, sent by one to three servers, give the same pages.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { EngineEvent } from '../../../shared/events';
import { keyId, messageId, type MessageId, type Millis } from '../../../shared/engine/units';
import type { Redaction } from '../../../shared/protocol/redact';
import { DeliveryLogs, type LogPage, type LogQuery } from '../../flow/delivery-logs';
import { MessageLog } from '../../flow/message-log';
import type { RetentionLimit, RetentionOptions } from '../../flow/retention';
import type { MessagePayload } from '../../flow/types';
import { testRedisUrl } from '../contract/test-redis-url';
import { RedisDeliveryLogs, type RedisDeliveryLogsOptions } from './delivery-logs';
import { keyspace } from './keys';
import { RedisMessages } from './messages';
import { StreamFollower } from './stream-follower';
import { deletePrefix, testPrefix } from './testing';

const unbounded: RetentionLimit = { maxBytes: Number.MAX_SAFE_INTEGER, maxAgeMs: null };
const MAX_BODY = 24;
const everything: LogQuery = {
  messageIds: [],
  states: [],
  urls: [],
  hosts: [],
  paths: [],
  flowControlKeys: [],
  labels: [],
  topicNames: [],
  count: 1000,
};

/**
 * One server's message log and logs on `prefix`, following the events together as deployment.ts
 * has them; `close` also checks nothing was warned.
 */
function server(
  prefix: string,
  options: { keepBodies?: boolean; logs?: Partial<RedisDeliveryLogsOptions> } = {},
) {
  const warnings: string[] = [];
  const warn = (msg: string, err?: unknown) => warnings.push(`${msg} ${String(err ?? '')}`);
  const url = testRedisUrl();
  const follower = new StreamFollower({ url, prefix, what: 'message log and logs', warn });
  const messages = new RedisMessages({
    url,
    prefix,
    history: unbounded,
    deadLetters: unbounded,
    keepBodies: options.keepBodies ?? false,
    warn,
    follower,
  });
  const logs = new RedisDeliveryLogs({
    url,
    prefix,
    limit: { ...unbounded, maxBodyBytes: MAX_BODY },
    warn,
    follower,
    ...options.logs,
  });
  messages.start();
  logs.start();
  return {
    messages,
    logs,
    close: async () => {
      await messages.close();
      await logs.close();
      expect(warnings).toEqual([]);
    },
  };
}

function newPrefix(): string {
  const prefix = testPrefix('logs');
  onTestFinished(() => deletePrefix(prefix, testRedisUrl()));
  return prefix;
}

/** A page as the API sends it (JSON: header order and absent fields do not count). */
const json = (page: LogPage) => JSON.parse(JSON.stringify(page)) as unknown;

const text = (s: string) => new TextEncoder().encode(s);

type Step = 'waitlisted' | 'acquired' | 'handed-off' | 'retry' | 'succeed' | 'dead' | 'cancel';

const redactArb = fc.constantFrom<Redaction | undefined>(
  undefined,
  { body: true, headers: [] },
  { body: false, headers: ['x-secret'] },
  { body: false, headers: true },
);

/** One message: what it was published with, and its life (maybe not over). */
const lifeArb = fc
  .record({
    delayed: fc.boolean(),
    attempts: fc.nat({ max: 2 }),
    end: fc.constantFrom('delivered', 'dead', 'cancelled', 'open'),
    body: fc.option(fc.uint8Array({ minLength: 1, maxLength: 40 }), { nil: undefined }),
    textBody: fc.boolean(),
    headers: fc.boolean(),
    redact: redactArb,
    label: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
    urlGroup: fc.option(fc.constantFrom('g'), { nil: undefined }),
    keyed: fc.boolean(),
    host: fc.constantFrom('h1.test', 'h2.test'),
    path: fc.constantFrom('/p', '/q'),
  })
  .map((l) => {
    const steps: Step[] = [];
    if (!l.delayed) steps.push('waitlisted');
    for (let i = 0; i < l.attempts; i++)
      steps.push(i % 2 === 0 ? 'acquired' : 'handed-off', 'retry', 'waitlisted');
    if (l.end === 'delivered') steps.push('acquired', 'succeed');
    if (l.end === 'dead') steps.push('handed-off', 'dead');
    if (l.end === 'cancelled') steps.push('cancel');
    const body =
      l.body === undefined ? undefined : l.textBody ? text(`body ${l.body.length}`) : l.body;
    const payload: MessagePayload = {
      destination: `https://${l.host}${l.path}`,
      method: 'POST',
      headers: l.headers ? { 'content-type': 'text/plain', 'x-secret': 's3cret' } : {},
      body,
      timeoutMs: undefined,
      retryDelay: undefined,
      redact: l.redact,
    };
    return { ...l, steps, payload };
  });

/** The events of the lives' steps, interleaved by `choices`, after every message's acceptance. */
function eventsOf(
  lives: ReadonlyArray<{ delayed: boolean; steps: Step[]; keyed: boolean }>,
  ids: MessageId[],
  choices: number[],
  start: number,
): EngineEvent[] {
  const out: EngineEvent[] = [];
  let seq = 0;
  let now = start;
  const event = (e: Record<string, unknown>) =>
    out.push({ seq: ++seq, at: now as Millis, key: keyId('k'), ...e } as EngineEvent);
  lives.forEach((l, i) =>
    event({
      type: 'message:accepted',
      messageId: ids[i],
      ...(l.delayed ? { notBefore: now + 5_000 } : {}),
    }),
  );
  const cursors = lives.map(() => 0);
  const attempts = lives.map(() => 0);
  for (let c = 0; ; c++) {
    const open = lives.map((_, i) => i).filter((i) => cursors[i]! < lives[i]!.steps.length);
    if (open.length === 0) return out;
    const i = open[(choices[c % choices.length] ?? 0) % open.length]!;
    const step = lives[i]!.steps[cursors[i]!++]!;
    const messageId = ids[i]!;
    now += 7;
    const attempt = attempts[i]!;
    switch (step) {
      case 'waitlisted':
        event({ type: 'message:waitlisted', messageId, reason: 'parallelism', position: 1 });
        break;
      case 'acquired':
        event({ type: 'token:acquired', messageId, attempt, inFlight: 1, waitedMs: 0 });
        attempts[i]!++;
        break;
      case 'handed-off':
        event({ type: 'token:handed-off', from: 'msg_x', to: messageId, attempt, waitedMs: 3 });
        attempts[i]!++;
        break;
      case 'retry':
        event({
          type: 'delivery:failed',
          messageId,
          attempt: attempt - 1,
          ...(attempt % 2 === 0 ? { status: 503 } : { error: 'connection refused' }),
          durationMs: 2,
          retryAt: now + 1_000,
        });
        break;
      case 'succeed':
        event({ type: 'delivery:succeeded', messageId, attempt, status: 200, durationMs: 2 });
        event({ type: 'message:delivered', messageId });
        break;
      case 'dead':
        event({
          type: 'delivery:failed',
          messageId,
          attempt,
          status: 500,
          durationMs: 2,
          retryAt: null,
        });
        event({ type: 'message:dead-lettered', messageId, reason: 'status 500' });
        break;
      case 'cancel':
        event({ type: 'message:cancelled', messageId });
        break;
    }
  }
}

/** The queries every run compares: everything, each filter, a time window. */
function queriesOf(ids: MessageId[], from: number): Array<Partial<LogQuery>> {
  return [
    {},
    { count: 5 },
    { states: ['ERROR', 'RETRY'] },
    { messageIds: [ids[0]!, ids[ids.length - 1]!] },
    { labels: ['a'] },
    { urls: ['https://h1.test/p'] },
    { hosts: ['h2.test'] },
    { paths: ['/q'] },
    { hosts: ['h1.test'], paths: ['/q'], states: ['CREATED', 'DELIVERED'] },
    { flowControlKeys: ['k'] },
    { topicNames: ['g'] },
    { fromDate: from + 20, toDate: from + 60, count: 3 },
  ];
}

/** Every page of `q`, following the cursor. */
async function pages(
  query: (q: LogQuery) => LogPage | Promise<LogPage>,
  q: Partial<LogQuery>,
): Promise<unknown[]> {
  const out: unknown[] = [];
  let cursor: number | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await query({ ...everything, ...q, ...(cursor !== undefined ? { cursor } : {}) });
    out.push(json(page));
    if (page.cursor === undefined) return out;
    cursor = Number(page.cursor);
  }
  throw new Error('the cursor never ends');
}

describe('the logs in Redis', () => {
  it('list what the memory logs list, whatever the batches and however many servers send them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(lifeArb, { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat({ max: 1000 }), { minLength: 40, maxLength: 200 }),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        async (lives, choices, count, keepBodies) => {
          const prefix = testPrefix('logs');
          const memoryLog = new MessageLog({
            history: unbounded,
            deadLetters: unbounded,
            keepBodies,
          });
          const memory = new DeliveryLogs(memoryLog, {
            limit: { ...unbounded, maxBodyBytes: MAX_BODY },
          });
          const servers = Array.from({ length: count }, () => server(prefix, { keepBodies }));
          try {
            const start = 1_000;
            const ids = lives.map((_, i) => messageId(`msg_${i}`));
            for (const [i, l] of lives.entries()) {
              const key = l.keyed ? keyId('k') : null;
              memoryLog.accepted(ids[i]!, key, l.payload, start as Millis, l.label, l.urlGroup);
              await servers[i % count]!.messages.accepted(
                ids[i]!,
                key,
                l.payload,
                start as Millis,
                l.label,
                l.urlGroup,
              );
            }
            const events = eventsOf(lives, ids, choices, start);
            // Batches of any size; every server gets every batch, in order.
            for (let at = 0, c = 0; at < events.length; c++) {
              const batch = events.slice(at, at + 1 + ((choices[c % choices.length] ?? 0) % 7));
              at += batch.length;
              // The logs copy a message's details before the message log applies the batch of its
              // first entry (whose end would drop its body): as the memory logs given one event
              // at a time.
              for (const e of batch) {
                memoryLog.apply([e]);
                memory.apply([e]);
              }
              // Both parts are given each batch (as app.ts does); the follower applies it once.
              for (const s of servers) s.messages.apply(batch);
              for (const s of servers) s.logs.apply(batch);
            }
            for (const s of servers) await s.logs.settled();
            for (const q of queriesOf(ids, start)) {
              const expected = await pages((x) => memory.query(x), q);
              for (const s of servers)
                expect(await pages((x) => s.logs.query(x), q)).toEqual(expected);
            }
          } finally {
            for (const s of servers) await s.close();
            await deletePrefix(prefix, testRedisUrl());
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  /** A message accepted, started and delivered at `at`: three entries. */
  async function deliver(
    s: ReturnType<typeof server>,
    n: number,
    at: number,
    seq: number,
    payload: Partial<MessagePayload> = {},
  ): Promise<MessageId> {
    const id = messageId(`msg_${n}`);
    const p: MessagePayload = {
      destination: 'sim://x',
      method: 'POST',
      headers: {},
      body: undefined,
      timeoutMs: undefined,
      retryDelay: undefined,
      redact: undefined,
      ...payload,
    };
    await s.messages.accepted(id, keyId('k'), p, at as Millis);
    const base = { at, key: keyId('k'), messageId: id };
    const batch = [
      { ...base, seq, type: 'message:accepted' },
      { ...base, seq: seq + 1, type: 'token:acquired', attempt: 0, inFlight: 1, waitedMs: 0 },
      { ...base, seq: seq + 2, type: 'message:delivered' },
    ] as EngineEvent[];
    // The logs first: they copy the body the message log drops at the end.
    s.logs.apply(batch);
    await s.logs.settled();
    s.messages.apply(batch);
    await s.messages.settled();
    return id;
  }

  const page = (s: ReturnType<typeof server>, q: Partial<LogQuery> = {}) =>
    s.logs.query({ ...everything, ...q });

  async function counted(prefix: string): Promise<{ bytes: number; details: number }> {
    const redis = new Redis(testRedisUrl());
    try {
      const space = keyspace(prefix);
      const bytes = Number((await redis.hget(`${space}lgs`, 'bytes')) ?? 0);
      return { bytes, details: await redis.hlen(`${space}lgd`) };
    } finally {
      redis.disconnect();
    }
  }

  it('forgets entries older than their age, as the memory logs do', async () => {
    const prefix = newPrefix();
    let now = 1_000;
    const limit: RetentionOptions['logs'] = { maxBytes: 1e9, maxAgeMs: 60_000, maxBodyBytes: 64 };
    const s = server(prefix, { logs: { limit, now: () => now } });
    onTestFinished(s.close);
    const old = await deliver(s, 1, now, 1);
    now += 30_000;
    const newer = await deliver(s, 2, now, 4);
    expect(new Set((await page(s)).events.map((e) => e.messageId))).toEqual(new Set([old, newer]));
    now += 30_001;
    expect((await page(s)).events.map((e) => e.messageId)).toEqual([newer, newer, newer]);
    now += 30_000;
    expect((await page(s)).events).toEqual([]);
    // Every byte given back, every message's details gone with its last entry.
    expect(await counted(prefix)).toEqual({ bytes: 0, details: 0 });
  });

  it('keeps what fits in its bytes, forgetting the oldest entries first', async () => {
    const probePrefix = newPrefix();
    const probe = server(probePrefix);
    onTestFinished(probe.close);
    await deliver(probe, 0, 1_000, 1, { body: new Uint8Array(1024) });
    const perMessage = (await counted(probePrefix)).bytes;
    // The body (at most maxBodyBytes: left out) does not count; a kept body would.
    expect(perMessage).toBeGreaterThan(0);
    expect(perMessage).toBeLessThan(1024);

    const prefix = newPrefix();
    const s = server(prefix, {
      logs: { limit: { maxBytes: 10 * perMessage, maxAgeMs: null, maxBodyBytes: MAX_BODY } },
    });
    onTestFinished(s.close);
    const ids: MessageId[] = [];
    for (let n = 0; n < 30; n++)
      ids.push(await deliver(s, n, 1_000 + n, 1 + 3 * n, { body: new Uint8Array(1024) }));
    const { bytes, details } = await counted(prefix);
    expect(bytes).toBeLessThanOrEqual(10 * perMessage);
    const kept = [...new Set((await page(s)).events.map((e) => e.messageId))];
    expect(kept).toEqual(ids.slice(-kept.length).reverse());
    expect(kept.length).toBeGreaterThanOrEqual(9);
    expect(kept.length).toBeLessThanOrEqual(10);
    expect(details).toBe(kept.length);
  });

  it('shows a body up to maxBodyBytes, and a redacted one as REDACTED', async () => {
    const s = server(newPrefix());
    onTestFinished(s.close);
    await deliver(s, 1, 1_000, 1, { body: text('a'.repeat(MAX_BODY)) });
    await deliver(s, 2, 1_000, 4, { body: text('a'.repeat(MAX_BODY + 1)) });
    await deliver(s, 3, 1_000, 7, {
      body: text('secret'),
      headers: { authorization: 'Bearer x', 'content-type': 'text/plain' },
      redact: { body: true, headers: ['authorization'] },
    });
    const byId = async (id: string) => (await page(s, { messageIds: [id] })).events;
    expect((await byId('msg_1')).map((e) => e.body)).toEqual(Array(3).fill('a'.repeat(MAX_BODY)));
    expect((await byId('msg_2')).map((e) => e.body)).toEqual([undefined, undefined, undefined]);
    expect((await byId('msg_3'))[0]).toMatchObject({
      body: 'REDACTED',
      header: { authorization: 'REDACTED', 'content-type': 'text/plain' },
    });
  });

  it('catches up, when it starts, with events written while no server followed them', async () => {
    const prefix = newPrefix();
    const first = server(prefix);
    const id = await deliver(first, 1, 1_000, 1);
    const later = messageId('msg_2');
    await first.messages.accepted(
      later,
      null,
      {
        destination: 'sim://later',
        method: 'POST',
        headers: {},
        body: text('late'),
        timeoutMs: undefined,
        retryDelay: undefined,
        redact: undefined,
      },
      2_000 as Millis,
    );
    await first.close();
    // Events the stream holds that no server applied: one entry as JSON (an older version's),
    // one as msgpack, one array per command (as batch.lua writes them).
    const redis = new Redis(testRedisUrl());
    const stream = `${keyspace(prefix)}events`;
    const base = { key: 'k', messageId: later };
    const accepted = [{ ...base, seq: 4, at: 2_000, type: 'message:accepted' }];
    const started = [
      { ...base, seq: 5, at: 2_000, type: 'token:acquired', attempt: 0, inFlight: 1, waitedMs: 0 },
    ];
    const failed = [
      {
        ...base,
        seq: 6,
        at: 2_100,
        type: 'delivery:failed',
        attempt: 0,
        status: 500,
        durationMs: 1,
        retryAt: null,
      },
      { ...base, seq: 7, at: 2_100, type: 'message:dead-lettered', reason: 'status 500' },
    ];
    await redis.xadd(stream, '*', 'o', 'x', 'c', '1:1', 'e', JSON.stringify(accepted));
    const pack = async (v: unknown) =>
      (await redis.callBuffer(
        'EVAL',
        'return cmsgpack.pack(cjson.decode(ARGV[1]))',
        '0',
        JSON.stringify(v),
      )) as Buffer;
    await redis.xaddBuffer(
      stream,
      '*',
      'o',
      'x',
      'c',
      '1:1,2:2',
      'm',
      Buffer.concat([await pack(started), await pack(failed)]),
    );
    redis.disconnect();
    const restarted = server(prefix);
    onTestFinished(restarted.close);
    await restarted.logs.settled();
    const { events } = await page(restarted);
    expect(events.map((e) => [e.messageId, e.state])).toEqual([
      [later, 'FAILED'],
      [later, 'ERROR'],
      [later, 'ACTIVE'],
      [later, 'CREATED'],
      [id, 'DELIVERED'],
      [id, 'ACTIVE'],
      [id, 'CREATED'],
    ]);
    expect(events[0]).toMatchObject({ url: 'sim://later', body: 'late', error: 'status 500' });
  });
});
