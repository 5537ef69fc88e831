import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../shared/events';
import { keyId, messageId, type MessageId, type Millis } from '../../shared/engine/units';
import type { MessagePayload } from '../../shared/protocol/publish';
import { DeliveryLogs, type LogQuery } from './delivery-logs';
import { MessageLog } from './message-log';
import type { RetentionOptions } from './retention';

const KEY = keyId('k');
const KiB = 1024;
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

function setup(limit: Partial<RetentionOptions['logs']> = {}) {
  let now = 1_000;
  let seq = 0;
  const clock = { now: () => now as Millis };
  const unbounded = { maxBytes: Infinity, maxAgeMs: null };
  const messages = new MessageLog({ history: unbounded, deadLetters: unbounded, clock });
  const logs = new DeliveryLogs(messages, {
    limit: { maxBytes: Infinity, maxAgeMs: null, maxBodyBytes: 64 * KiB, ...limit },
    clock,
  });
  const emit = (...events: Array<Record<string, unknown>>) => {
    const batch = events.map((e) => ({ seq: ++seq, at: now, key: KEY, ...e }) as EngineEvent);
    messages.apply(batch);
    logs.apply(batch);
  };
  /** A message accepted, started and delivered: three entries (CREATED, ACTIVE, DELIVERED). */
  function deliver(n: number, payload: Partial<MessagePayload> = {}): MessageId {
    const id = messageId(`msg_${n}`);
    const p = { destination: 'sim://x', method: 'POST', headers: {}, ...payload };
    messages.accepted(id, KEY, p, now as Millis);
    emit({ type: 'message:accepted', messageId: id });
    emit({ type: 'token:acquired', messageId: id, attempt: 0, inFlight: 1, waitedMs: 0 });
    emit({ type: 'delivery:succeeded', messageId: id, attempt: 0, status: 200, durationMs: 1 });
    emit({ type: 'message:delivered', messageId: id });
    return id;
  }
  const page = (q: Partial<LogQuery> = {}) => logs.query({ ...everything, ...q });
  return { logs, deliver, page, advance: (ms: number) => (now += ms) };
}

const text = (s: string) => new TextEncoder().encode(s);

describe('DeliveryLogs', () => {
  it('shows every state of a message, newest first, with its body', () => {
    const t = setup();
    const id = t.deliver(1, { body: text('hello'), headers: { 'content-type': 'text/plain' } });
    const { events } = t.page();
    expect(events.map((e) => e.state)).toEqual(['DELIVERED', 'ACTIVE', 'CREATED']);
    for (const e of events) {
      expect(e).toMatchObject({
        messageId: id,
        url: 'sim://x',
        body: 'hello',
        header: { 'content-type': 'text/plain' },
        flowControlKey: 'k',
      });
    }
  });

  it('counts what a message has in common once for all its entries', () => {
    const one = setup();
    one.deliver(1, { body: new Uint8Array(8 * KiB) });
    // Three entries, one 8 KiB body: far less than three bodies.
    expect(one.logs.bytes).toBeGreaterThan(8 * KiB);
    expect(one.logs.bytes).toBeLessThan(10 * KiB);
  });

  it('keeps what fits in its bytes, forgetting the oldest entries first', () => {
    const probe = setup();
    probe.deliver(0, { body: new Uint8Array(KiB) });
    const perMessage = probe.logs.bytes;
    const t = setup({ maxBytes: 10 * perMessage });
    const ids = Array.from({ length: 30 }, (_, n) => t.deliver(n, { body: new Uint8Array(KiB) }));
    expect(t.logs.bytes).toBeLessThanOrEqual(10 * perMessage);
    const kept = new Set(t.page().events.map((e) => e.messageId));
    expect([...kept]).toEqual(ids.slice(-kept.size).reverse());
    expect(kept.size).toBeGreaterThanOrEqual(9);
    expect(kept.size).toBeLessThanOrEqual(10);
  });

  it('gives back every byte once all entries are gone', () => {
    const t = setup({ maxAgeMs: 60_000 });
    for (let n = 0; n < 5; n++) t.deliver(n, { body: new Uint8Array(KiB) });
    t.advance(60_001);
    expect(t.page().events).toEqual([]);
    expect(t.logs.bytes).toBe(0);
  });

  it('forgets entries older than its age limit', () => {
    const t = setup({ maxAgeMs: 60_000 });
    const old = t.deliver(1);
    t.advance(30_000);
    const newer = t.deliver(2);
    t.advance(30_001);
    const shown = new Set(t.page().events.map((e) => e.messageId));
    expect(shown).toEqual(new Set([newer]));
    expect(shown.has(old)).toBe(false);
  });

  it('leaves a body larger than maxBodyBytes out of its entries, so it is not held', () => {
    const t = setup({ maxBodyBytes: 4 * KiB });
    t.deliver(1, { body: new Uint8Array(4 * KiB).fill(97) });
    t.deliver(2, { body: new Uint8Array(4 * KiB + 1).fill(97) });
    const byId = (id: string) => t.page({ messageIds: [id] }).events;
    expect(byId('msg_1').every((e) => e.body === 'a'.repeat(4 * KiB))).toBe(true);
    expect(byId('msg_2').every((e) => e.body === undefined)).toBe(true);
    expect(t.logs.bytes).toBeLessThan(6 * 4 * KiB);
  });

  it('keeps its own copy of a small body that was a view into a larger buffer', () => {
    const t = setup();
    const slab = new Uint8Array(8 * KiB);
    t.deliver(1, { body: slab.subarray(0, 5).fill(98) });
    slab.fill(0); // the slab is reused for other requests
    expect(t.page().events.every((e) => e.body === 'bbbbb')).toBe(true);
  });

  it('shows a redacted body and headers as REDACTED', () => {
    const t = setup();
    t.deliver(1, {
      body: text('secret'),
      headers: { authorization: 'Bearer x', 'content-type': 'text/plain' },
      redact: { body: true, headers: ['authorization'] },
    });
    expect(t.page().events[0]).toMatchObject({
      body: 'REDACTED',
      header: { authorization: 'REDACTED', 'content-type': 'text/plain' },
    });
  });

  it('pages with a cursor across forgotten entries', () => {
    const probe = setup();
    probe.deliver(0);
    const t = setup({ maxBytes: 4 * probe.logs.bytes });
    for (let n = 0; n < 10; n++) t.deliver(n);
    const first = t.page({ count: 5 });
    expect(first.cursor).toBeDefined();
    const rest = t.page({ count: 1000, cursor: Number(first.cursor) });
    const all = [...first.events, ...rest.events];
    expect(all.length).toBe(t.page().events.length);
    expect(rest.cursor).toBeUndefined();
  });
});
