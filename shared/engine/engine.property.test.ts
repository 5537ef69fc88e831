/**
 * Property tests: random command sequences against the engine (`testing/scenario.ts`), checked after
 * every step against a ledger kept from the events alone (`testing/ledger.ts`), then drained to show
 * that nothing accepted is left behind.
 */
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { runScenario, scenario } from './testing/scenario';

describe('FlowEngine properties', () => {
  for (const policy of ['fifo', 'random'] as const) {
    describe(`with the ${policy} policy`, () => {
      it('keeps every limit, accounts for every message and leaves nothing behind', () => {
        fc.assert(
          fc.property(scenario, (s) => runScenario(policy, s)),
          { numRuns: 200 },
        );
      });
    });
  }
});
