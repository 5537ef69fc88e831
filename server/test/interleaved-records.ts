/**
 * Records on which another writer gets in once, for tests of compare-and-set loops: just before
 * this handle's first `replace`, `between` runs (on the same documents), as a second server's
 * change landing between this server's read and its write.
 */
import type { MaybePromise } from '../store/flow-store';
import type { Codec, Collection, Records } from '../store/records';

export function interleaved(records: Records, between: () => MaybePromise<unknown>): Records {
  let pending = true;
  return {
    kind: records.kind,
    close: () => records.close(),
    collection<T>(name: string, codec: Codec<T>): Collection<T> {
      const c = records.collection(name, codec);
      return {
        get: (id) => c.get(id),
        getMany: (ids) => c.getMany(ids),
        put: (id, value) => c.put(id, value),
        delete: (id) => c.delete(id),
        list: () => c.list(),
        async replace(id, expected, value) {
          if (pending) {
            pending = false;
            await between();
          }
          return c.replace(id, expected, value);
        },
      };
    },
  };
}
