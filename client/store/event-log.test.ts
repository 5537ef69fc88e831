import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../shared/events';
import { keyId, messageId, ms } from '../../shared/engine/units';
import {
  appendLog,
  filterLog,
  LOG_LIMIT,
  logAfterSnapshot,
  type LogEntry,
  type SnapshotMark,
} from './event-log';

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

describe('logAfterSnapshot', () => {
  const mark = (seq: number): SnapshotMark => ({
    type: 'snapshot',
    seq,
    at: seq,
    key: '',
    keys: 1,
  });
  const events = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => ev(from + i, 'k', 'message:accepted'));
  const seqs = (log: LogEntry[]) => log.map((e) => `${e.type === 'snapshot' ? 'S' : ''}${e.seq}`);

  it('shows a page just opened the latest events, then the mark', () => {
    expect(seqs(logAfterSnapshot([mark(0)], events(5, 7), mark(7)))).toEqual([
      'S0',
      '5',
      '6',
      '7',
      'S7',
    ]);
  });

  it('fills the gap a resync left with the events the page missed, once each', () => {
    const log = [mark(0), ...events(1, 4)];
    expect(seqs(logAfterSnapshot(log, events(3, 9), mark(9)))).toEqual([
      'S0',
      '1',
      '2',
      ...['3', '4', '5', '6', '7', '8', '9'],
      'S9',
    ]);
  });

  it('keeps what a restarted server no longer has, before the new server’s events', () => {
    const log = [mark(0), ...events(1, 50)];
    const after = logAfterSnapshot(log, events(1, 2), mark(2));
    expect(after).toHaveLength(54);
    expect(seqs(after).slice(-4)).toEqual(['50', '1', '2', 'S2']);
  });

  it('keeps at most LOG_LIMIT entries', () => {
    const after = logAfterSnapshot(events(1, 10), events(11, 10 + LOG_LIMIT), mark(10 + LOG_LIMIT));
    expect(after).toHaveLength(LOG_LIMIT);
    expect(after.at(-1)!.type).toBe('snapshot');
  });
});
