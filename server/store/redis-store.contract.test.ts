import { runStoreContract } from './contract/store-contract';
import { testRedisUrl } from './contract/test-redis-url';
import { RedisStore } from './redis/redis-store';
import { deletePrefix, testPrefix } from './redis/testing';

/**
 * Leases never expire in the contract: it moves the clock by hours with deliveries in flight, and
 * the engine it holds the store to has no leases (they have tests of their own).
 */
const NO_LEASE_EXPIRY = 10 * 365 * 24 * 3600 * 1000;

runStoreContract(
  'redis',
  async ({ clock, globalParallelism, policy, seed, randomWindow }) => {
    const url = testRedisUrl();
    const prefix = testPrefix('contract');
    const warnings: string[] = [];
    const store = await RedisStore.open({
      url,
      prefix,
      clock,
      globalParallelism,
      policy,
      seed,
      randomWindow,
      leaseMs: NO_LEASE_EXPIRY,
      warn: (msg, err) => warnings.push(`${msg}${err === undefined ? '' : `: ${String(err)}`}`),
    });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await deletePrefix(prefix, url);
        if (warnings.length > 0) throw new Error(`the store warned:\n${warnings.join('\n')}`);
      },
    };
  },
  { propertyRuns: 50, seedShare: 0.05 },
);
