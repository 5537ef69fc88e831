/**
 * One contract suite for every `FlowStore`: the flow-control rules, case by case, and the property
 * test with the ledger, spoken through the store interface only. Every store runs it
 * (`*.contract.test.ts` beside the stores); it is what keeps a Redis store faithful to the engine.
 *
 * It is also where the engine's rules are tested: the memory store is the engine inside, run with
 * every seed loop in full. shared/engine keeps only what the store interface cannot ask (and its
 * own property test, which also checks the engine's internal bookkeeping).
 */
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { scenario } from '../../../shared/engine/testing/scenario';
import { basicsContract } from './contract-basics';
import { configContract, pauseContract } from './contract-config';
import { forgetContract } from './contract-forget';
import { globalContract } from './contract-global';
import { policyContract } from './contract-policy';
import { rateContract } from './contract-rate';
import { cancelContract, delayedContract, retriesContract } from './contract-retries';
import { storeContract } from './contract-store';
import { runStoreScenario } from './store-scenario';
import { contractContext, type StoreFactory } from './contract-context';
import { invalidInputContract } from './contract-invalid';

export type { StoreFactory, StoreOptions } from './contract-context';
export { ManualClock } from './contract-context';

export interface ContractOptions {
  /** fast-check runs of the property test, per policy (the memory store's runs 200). */
  propertyRuns: number;
  /** The share of the seed loops to run (1: all of them). */
  seedShare?: number;
  /** Time limit of the property test and the seed loops. */
  slowTestTimeoutMs?: number;
}

/**
 * Registers the contract suite for one store. `factory` makes a fresh, empty store on the clock it
 * is given (and cleans it up); every test makes its own.
 */
export function runStoreContract(
  name: string,
  factory: StoreFactory,
  options: ContractOptions,
): void {
  if (!(options.propertyRuns >= 1)) throw new RangeError('the property test needs at least 1 run');
  const ctx = contractContext(factory, {
    seedShare: options.seedShare ?? 1,
    propertyRuns: options.propertyRuns,
  });
  const slow = options.slowTestTimeoutMs ?? 300_000;

  describe(`${name} store contract`, () => {
    describe('basics', () => basicsContract(ctx));
    describe('invalid input', () => invalidInputContract(ctx));
    describe('rate', () => rateContract(ctx));
    describe('retries', () => retriesContract(ctx));
    describe('delayed messages', () => delayedContract(ctx));
    describe('cancel', () => cancelContract(ctx));
    describe('configuration', () => configContract(ctx));
    describe('when paused', () => pauseContract(ctx));
    describe('global parallelism', () => globalContract(ctx));
    describe('handoff policy', { timeout: slow }, () => policyContract(ctx));
    describe('forgetting idle keys', () => forgetContract(ctx));
    describe('store', () => storeContract(ctx));

    describe('properties', { timeout: slow }, () => {
      for (const policy of ['fifo', 'random'] as const) {
        it(`keeps every limit, accounts for every message and leaves nothing behind (${policy})`, async () => {
          await fc.assert(
            fc.asyncProperty(scenario, (s) => runStoreScenario(ctx, policy, s)),
            { numRuns: ctx.propertyRuns },
          );
        });
      }
    });
  });
}
