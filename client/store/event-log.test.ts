import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../shared/events';
import { keyId, messageId, ms } from '../../shared/engine/units';
import { appendLog, filterLog, LOG_LIMIT, type LogEntry } from './event-log';

const ev = (seq: number, key: string, type: 'message:accepted' | 'key:paused'): EngineEvent =>
  type === 'key:paused'
    ? { type, seq, at: ms(seq), key: keyId(key) }
    : { type, seq, at: ms(seq), key: keyId(key), messageId: messageId(`msg_${seq}`) };

describe('appendLog', () => {
  it('keeps the newest LOG_LIMIT entries in arrival order', () => {
    let log: LogEntry[] = [];
    for (let i = 1; i <= LOG_LIMIT + 10; i += 10) {
      log = appendLog(
        log,
        Array.from({ length: 10 }, (_, j) => ev(i + j, 'k', 'message:accepted')),
      );
    }
    expect(log).toHaveLength(LOG_LIMIT);
    expect(log[0]!.seq).toBe(11);
    expect(log[log.length - 1]!.seq).toBe(LOG_LIMIT + 10);
  });
});

describe('filterLog', () => {
  const log: LogEntry[] = [
    ev(1, 'user-signup', 'message:accepted'),
    ev(2, 'billing', 'key:paused'),
    { type: 'snapshot', seq: 2, at: 3, key: '', keys: 2 },
    ev(3, 'User-Login', 'message:accepted'),
  ];

  it('lists newest first and matches part of the key, in any case', () => {
    expect(filterLog(log, { key: '', type: '' }).map((e) => e.seq)).toEqual([3, 2, 2, 1]);
    expect(filterLog(log, { key: 'user', type: '' }).map((e) => e.seq)).toEqual([3, 1]);
  });

  it('filters by one type or by a whole resource', () => {
    expect(filterLog(log, { key: '', type: 'key:paused' }).map((e) => e.seq)).toEqual([2]);
    expect(filterLog(log, { key: '', type: 'message:*' }).map((e) => e.seq)).toEqual([3, 1]);
  });
});
