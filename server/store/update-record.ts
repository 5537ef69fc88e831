/**
 * Read-modify-write of one record, safe when several servers change it at once: read, compute,
 * compare-and-set (`Collection.replace`), and on a lost race read again and recompute from what
 * the other writer stored. Nothing of a change is ever lost; every writer's change applies to
 * the latest document. Also `chain`, the `after` whose callback may answer a promise itself.
 */
import type { MaybePromise } from './flow-store';
import type { Collection } from './records';

/** More lost races than this for one change is a fault (a writer that never settles), not load. */
const MAX_TRIES = 100;

/**
 * What a change makes of the stored document: `next` to store (undefined deletes it; `current`
 * itself, the same object, leaves it as it is) and what the caller gets back.
 */
export interface RecordChange<T, R> {
  next: T | undefined;
  result: R;
}

/**
 * `after` for a `then` that may answer a promise itself: one promise, not a promise of one, and
 * synchronous when neither is a promise.
 */
export function chain<T, R>(
  value: MaybePromise<T>,
  then: (v: T) => MaybePromise<R>,
): MaybePromise<R> {
  return value instanceof Promise ? value.then(then) : then(value);
}

/**
 * Applies `change` to the document `id` with compare-and-set, running it again on the newer
 * document each time another writer got in between. `change` must not modify `current` (it is
 * the expected value of the compare-and-set) and may throw to refuse, which stores nothing.
 * Synchronous when the collection is (memory): there, no other writer can get in between.
 */
export function updateRecord<T, R>(
  collection: Collection<T>,
  id: string,
  change: (current: T | undefined) => RecordChange<T, R>,
): MaybePromise<R> {
  const attempt = (tries: number): MaybePromise<R> =>
    chain(collection.get(id), (current) => {
      const { next, result } = change(current);
      if (next === current) return result;
      return chain(collection.replace(id, current, next), (done) => {
        if (done) return result;
        if (tries >= MAX_TRIES)
          throw new Error(`record "${id}" changed under each of ${MAX_TRIES} tries to update it`);
        return attempt(tries + 1);
      });
    });
  return attempt(1);
}
