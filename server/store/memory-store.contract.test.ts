import { runStoreContract } from './contract/store-contract';
import { MemoryStore } from './memory-store';

runStoreContract(
  'memory',
  async ({ clock, globalParallelism, policy, seed, randomWindow }) => {
    const store = new MemoryStore({ clock, globalParallelism, policy, seed, randomWindow });
    return { store, cleanup: async () => store.close() };
  },
  { propertyRuns: 200 },
);
