import { describe, expect, it } from 'vitest';
import { engineHarness } from './engine-harness';
import { fromSnapshot } from './flow-state';
import { overviewRows } from './overview-rows';

function keys() {
  const h = engineHarness();
  for (let i = 0; i < 3; i++) h.publish('busy', 2);
  h.publish('idle', 5);
  h.publish('Beta', 1);
  h.pause('Beta');
  h.publish('Beta', 1);
  return fromSnapshot(h.snapshot()).keys;
}

describe('overviewRows', () => {
  it('has one row per key with in flight, limit, waitlist and state', () => {
    const rows = overviewRows(keys(), 1_000_000, '', { column: 'key', descending: false });
    expect(rows.map((r) => r.key)).toEqual(['Beta', 'busy', 'idle']);
    expect(rows[1]).toMatchObject({ inFlight: 2, parallelism: 2, waiting: 1, paused: false });
    expect(rows[0]).toMatchObject({ paused: true, waiting: 1 });
  });

  it('searches part of the name in any case', () => {
    const rows = overviewRows(keys(), 1_000_000, 'B', { column: 'key', descending: false });
    expect(rows.map((r) => r.key)).toEqual(['Beta', 'busy']);
  });

  it('sorts by a column either way, ties by name', () => {
    const k = keys();
    const by = (column: 'waiting' | 'inFlight' | 'state', descending: boolean) =>
      overviewRows(k, 1_000_000, '', { column, descending }).map((r) => r.key);
    expect(by('waiting', true)).toEqual(['Beta', 'busy', 'idle']);
    expect(by('inFlight', true)).toEqual(['busy', 'Beta', 'idle']);
    expect(by('state', true)[0]).toBe('Beta');
    expect(overviewRows(k, 0, '', { column: 'key', descending: true }).map((r) => r.key)).toEqual([
      'idle',
      'busy',
      'Beta',
    ]);
  });

  it('sorts 5,000 keys quickly', () => {
    const many = Object.fromEntries(
      Array.from({ length: 5000 }, (_, i) => {
        const k = Object.values(keys())[0]!;
        return [`key-${i}`, { ...k, key: `key-${i}` as typeof k.key, inFlight: i % 7 }];
      }),
    );
    const t = performance.now();
    const rows = overviewRows(many, 0, '', { column: 'inFlight', descending: true });
    expect(rows).toHaveLength(5000);
    expect(performance.now() - t).toBeLessThan(200);
  });
});
