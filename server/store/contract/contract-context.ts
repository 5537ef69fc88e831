/**
 * What the contract suite is run with: the store factory a store's `*.contract.test.ts` passes,
 * the hand-moved clock, and the helpers every part of the suite is given.
 */
import { onTestFinished } from 'vitest';
import type { HandoffPolicy } from '../../../shared/engine/types';
import { ms, type Millis } from '../../../shared/engine/units';
import type { Clock } from '../../flow/types';
import type { FlowStore } from '../flow-store';
import { StoreDriver } from './store-driver';

/** A clock a test moves by hand; time goes forward only. */
export class ManualClock implements Clock {
  private t: Millis;

  constructor(start = 0) {
    this.t = ms(start);
  }

  now(): Millis {
    return this.t;
  }

  set(t: number): void {
    if (t < this.t) throw new Error(`time goes forward only (${t} < ${this.t})`);
    this.t = ms(t);
  }
}

/** What a store under test is made with. */
export interface StoreOptions {
  clock: Clock;
  globalParallelism?: number | null;
  policy?: HandoffPolicy;
  /** Seed of the `random` policy's source (a store may draw from its own source instead). */
  seed?: number;
  randomWindow?: number;
}

/** Makes a fresh, empty store; `cleanup` closes it and deletes whatever it left behind. */
export type StoreFactory = (
  options: StoreOptions,
) => Promise<{ store: FlowStore; cleanup(): Promise<void> }>;

export type Open = (options?: Omit<StoreOptions, 'clock'>) => Promise<StoreDriver>;
export type WithDriver = <T>(
  options: Omit<StoreOptions, 'clock'>,
  fn: (d: StoreDriver) => Promise<T>,
) => Promise<T>;

/** What every part of the suite is given. */
export interface ContractContext {
  /** A driver on a fresh store at time 0, closed when the current test finishes. */
  open: Open;
  /** A driver on a fresh store at time 0, closed when `fn` ends (for tests that make many). */
  withDriver: WithDriver;
  /** How many seeds the loops over random runs try (the engine's own tests try up to 300). */
  seeds: (engineCount: number) => number;
  /** fast-check runs of the property test, per policy. */
  propertyRuns: number;
}

/** The helpers the suite's parts share, making every store with `factory` on a clock at 0. */
export function contractContext(
  factory: StoreFactory,
  options: { seedShare: number; propertyRuns: number },
): ContractContext {
  const make = async (o: Omit<StoreOptions, 'clock'>) => {
    const clock = new ManualClock();
    const { store, cleanup } = await factory({ ...o, clock });
    return { d: new StoreDriver(store, clock), cleanup };
  };
  return {
    propertyRuns: options.propertyRuns,
    seeds: (n) => Math.max(1, Math.round(n * options.seedShare)),
    open: async (o = {}) => {
      const { d, cleanup } = await make(o);
      onTestFinished(cleanup);
      return d;
    },
    withDriver: async (o, fn) => {
      const { d, cleanup } = await make(o);
      try {
        return await fn(d);
      } finally {
        await cleanup();
      }
    },
  };
}
