import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../shared/events';
import { keyId, messageId, type MessageId, type Millis } from '../../shared/engine/units';
import { MessageLog, type LoggedMessage, type MessageLogOptions } from './message-log';
import type { RetentionLimit } from './retention';

const KEY = keyId('k');
const KiB = 1024;
const unbounded: RetentionLimit = { maxBytes: Infinity, maxAgeMs: null };

function setup(options: MessageLogOptions = {}) {
  let now = 1_000;
  let seq = 0;
  const dropped: Array<[string, 'bytes' | 'age']> = [];
  const log = new MessageLog({
    history: unbounded,
    deadLetters: unbounded,
    ...options,
    clock: { now: () => now as Millis },
    onDeadLetterDropped: (m, why) => dropped.push([m.messageId, why]),
  });
  const emit = (...events: Array<Record<string, unknown>>) =>
    log.apply(events.map((e) => ({ seq: ++seq, at: now, key: KEY, ...e }) as EngineEvent));

  /** A message of `bodyBytes` accepted, started once, and ended as `end`. */
  function run(n: number, bodyBytes: number, end: 'delivered' | 'failed' | 'cancelled'): MessageId {
    const id = messageId(`msg_${n}`);
    const body = bodyBytes > 0 ? new Uint8Array(bodyBytes).fill(120) : undefined;
    log.accepted(
      id,
      KEY,
      { destination: 'sim://x', method: 'POST', headers: {}, body },
      now as Millis,
    );
    emit({ type: 'message:accepted', messageId: id });
    if (end === 'cancelled') {
      emit({ type: 'message:cancelled', messageId: id });
      return id;
    }
    emit({ type: 'token:acquired', messageId: id, attempt: 0, inFlight: 1, waitedMs: 0 });
    if (end === 'delivered') {
      emit({ type: 'delivery:succeeded', messageId: id, attempt: 0, status: 200, durationMs: 1 });
      emit({ type: 'message:delivered', messageId: id });
    } else {
      emit({
        type: 'delivery:failed',
        messageId: id,
        attempt: 0,
        status: 500,
        durationMs: 1,
        retryAt: null,
      });
      emit({ type: 'message:dead-lettered', messageId: id, reason: 'status 500' });
    }
    return id;
  }
  return {
    log,
    run,
    emit,
    dropped,
    advance: (ms: number) => (now += ms),
    ids: (it: Iterable<LoggedMessage>) => [...it].map((m) => m.messageId),
  };
}

/** What one ended message of `bodyBytes` is counted as, in a history that keeps bodies. */
function sizeOfOne(bodyBytes: number, end: 'delivered' | 'failed' = 'delivered') {
  const t = setup({ keepBodies: true });
  t.run(0, bodyBytes, end);
  return end === 'delivered' ? t.log.retainedBytes.history : t.log.retainedBytes.deadLetters;
}

describe('MessageLog', () => {
  it('keeps every message that has not ended, whatever the budgets', () => {
    const t = setup({
      history: { maxBytes: 0, maxAgeMs: 1 },
      deadLetters: { maxBytes: 0, maxAgeMs: 1 },
    });
    const ids = [1, 2, 3].map((n) => messageId(`msg_${n}`));
    for (const id of ids) {
      t.log.accepted(id, KEY, { destination: 'sim://x', method: 'POST', headers: {} }, 1 as Millis);
      t.emit({ type: 'message:accepted', messageId: id });
    }
    t.advance(60_000);
    expect(t.ids(t.log.pending())).toEqual(ids);
    expect(t.log.get(ids[0]!)?.status).toBe('waiting');
  });

  it('shares one empty attempts list until a message starts', () => {
    const t = setup();
    const a = t.log.accepted(
      messageId('msg_a'),
      KEY,
      { destination: 'sim://x', method: 'POST', headers: {} },
      1 as Millis,
    );
    const b = t.log.accepted(
      messageId('msg_b'),
      KEY,
      { destination: 'sim://x', method: 'POST', headers: {} },
      1 as Millis,
    );
    expect(a.attempts).toBe(b.attempts);
    t.emit({ type: 'token:acquired', messageId: 'msg_a', attempt: 0, inFlight: 1, waitedMs: 0 });
    expect(a.attempts).toHaveLength(1);
    expect(b.attempts).toHaveLength(0);
  });

  describe('when a message ends', () => {
    it('drops its body, and clears the handle of the record others may hold', () => {
      const t = setup();
      const id = messageId('msg_1');
      const live = t.log.accepted(
        id,
        KEY,
        { destination: 'sim://x', method: 'POST', headers: {}, body: new Uint8Array(10) },
        1 as Millis,
      );
      live.handle = { id, data: null };
      t.emit({ type: 'message:cancelled', messageId: id });
      expect(live.handle).toBeUndefined();
      const ended = t.log.get(id);
      expect(ended).toMatchObject({ status: 'cancelled', endedAt: 1_000 });
      expect(ended?.payload.body).toBeUndefined();
      expect(live.payload.body).toHaveLength(10); // the original payload is not changed
    });

    it('keeps its body with keepBodies, counted in the history', () => {
      const t = setup({ keepBodies: true });
      const id = t.run(1, 10 * KiB, 'delivered');
      expect(t.log.get(id)?.payload.body).toHaveLength(10 * KiB);
      expect(t.log.retainedBytes.history).toBeGreaterThan(10 * KiB);
      const without = setup();
      without.run(1, 10 * KiB, 'delivered');
      expect(without.log.retainedBytes.history).toBeLessThan(2 * KiB);
    });
  });

  describe('the history of ended messages', () => {
    it('keeps what fits in its bytes, forgetting the oldest first', () => {
      const one = sizeOfOne(1 * KiB);
      const t = setup({ keepBodies: true, history: { maxBytes: 10 * one, maxAgeMs: null } });
      const ids = Array.from({ length: 25 }, (_, n) => t.run(n, 1 * KiB, 'delivered'));
      expect(t.log.retainedBytes.history).toBeLessThanOrEqual(10 * one);
      expect(ids.filter((id) => t.log.get(id) !== undefined)).toEqual(ids.slice(-10));
    });

    it('forgets a message older than its age limit', () => {
      const t = setup({ history: { maxBytes: Infinity, maxAgeMs: 60_000 } });
      const old = t.run(1, 0, 'delivered');
      t.advance(30_000);
      const newer = t.run(2, 0, 'delivered');
      t.advance(30_001);
      expect(t.log.get(old)).toBeUndefined();
      expect(t.log.get(newer)?.status).toBe('delivered');
    });
  });

  describe('the dead-letter list', () => {
    it('keeps a dead letter with its body, counted against its own budget', () => {
      const t = setup({ history: { maxBytes: 0, maxAgeMs: null } });
      const id = t.run(1, 10 * KiB, 'failed');
      const dlqId = t.log.get(id)?.dlqId;
      expect(dlqId).toBe('dlq_1');
      expect(t.log.deadLetter(dlqId!)?.payload.body).toHaveLength(10 * KiB);
      expect(t.log.retainedBytes.deadLetters).toBeGreaterThan(10 * KiB);
      // Forgotten by the history, it is still read through its dead letter.
      expect(t.log.retainedBytes.history).toBe(0);
      expect(t.log.get(id)?.status).toBe('failed');
    });

    it('drops the oldest dead letters beyond its bytes, and says so', () => {
      const one = sizeOfOne(4 * KiB, 'failed');
      const t = setup({ deadLetters: { maxBytes: 3 * one, maxAgeMs: null } });
      const ids = Array.from({ length: 5 }, (_, n) => t.run(n, 4 * KiB, 'failed'));
      expect(t.ids(t.log.deadLetters())).toEqual(ids.slice(2));
      expect(t.dropped).toEqual([
        [ids[0], 'bytes'],
        [ids[1], 'bytes'],
      ]);
      // Still in the history, without the body it no longer needs.
      expect(t.log.get(ids[0]!)).toMatchObject({ status: 'failed', dlqId: 'dlq_0' });
      expect(t.log.get(ids[0]!)?.payload.body).toBeUndefined();
    });

    it('drops a dead letter older than its age limit, and says so', () => {
      const t = setup({ deadLetters: { maxBytes: Infinity, maxAgeMs: 7 * 86_400_000 } });
      const id = t.run(1, 100, 'failed');
      t.advance(7 * 86_400_000 + 1);
      expect(t.ids(t.log.deadLetters())).toEqual([]);
      expect(t.dropped).toEqual([[id, 'age']]);
    });

    it('keeps its own copy of a body that was a view into a larger buffer', () => {
      const t = setup();
      const slab = new Uint8Array(8 * KiB);
      const id = messageId('msg_1');
      const body = slab.subarray(100, 110).fill(1);
      t.log.accepted(
        id,
        KEY,
        { destination: 'sim://x', method: 'POST', headers: {}, body },
        1 as Millis,
      );
      t.emit({ type: 'message:dead-lettered', messageId: id, reason: 'cancelled by test' });
      const kept = t.log.deadLetter('dlq_1')?.payload.body;
      expect(kept).toEqual(new Uint8Array(10).fill(1));
      expect(kept?.buffer.byteLength).toBe(10);
    });

    it('gives back the bytes of a deleted dead letter, and its body', () => {
      const t = setup();
      const id = t.run(1, 10 * KiB, 'failed');
      expect(t.log.removeDeadLetter('dlq_1')).toBe(true);
      expect(t.log.removeDeadLetter('dlq_1')).toBe(false);
      expect(t.log.retainedBytes.deadLetters).toBe(0);
      expect(t.log.get(id)?.payload.body).toBeUndefined();
      expect(t.dropped).toEqual([]);
    });
  });
});
