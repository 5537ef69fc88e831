/**
 * The default backoff. The engine's rules are tested once, for every store, by the contract suite
 * (server/store/contract/), which runs on the memory store with the engine inside; the engine's
 * property test with the ledger is engine.property.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { MAX_BACKOFF, defaultBackoff } from './retry';

describe('defaultBackoff', () => {
  it('is min(86400, e^(2.5·n)) seconds, in ms', () => {
    expect(defaultBackoff(1)).toBe(12_182);
    expect(defaultBackoff(2)).toBe(148_413);
    expect(defaultBackoff(3)).toBe(1_808_042);
    expect(defaultBackoff(4)).toBe(22_026_466);
    expect(defaultBackoff(5)).toBe(MAX_BACKOFF);
    expect(defaultBackoff(50)).toBe(86_400_000);
  });
});
