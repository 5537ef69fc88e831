/**
 * The engine's cross-check (shared/engine/testing/cross-check.ts), read through the `FlowStore`:
 * compares the ledger, kept from the events alone, with everything the store reports about itself.
 */
import { checkKey, checkMessage, checkStats } from '../../../shared/engine/testing/cross-check';
import { must, type Ledger } from '../../../shared/engine/testing/ledger';
import type { StoreDriver } from './store-driver';

/**
 * Checks the ledger against the store after a command. Messages that ended earlier and were seen
 * ended then (`seenEnded`) are not read again: a store that revived one would show it on its key.
 */
export async function crossCheckStore(
  l: Ledger,
  d: StoreDriver,
  seenEnded: Set<string>,
): Promise<void> {
  const msgs = [...l.msgs.values()].filter((m) => !seenEnded.has(m.id));
  const [views, snap, keys, global] = await Promise.all([
    Promise.all(msgs.map((m) => d.message(m.id))),
    d.snapshot(1_000_000),
    d.store.keys(),
    d.global(),
  ]);
  msgs.forEach((m, i) => {
    if (checkMessage(l, m, views[i], 'store')) seenEnded.add(m.id);
  });
  must(snap.seq === l.seq, () => `snapshot at seq ${snap.seq}, last event ${l.seq}`);
  must(snap.at === l.now, () => `snapshot at ${snap.at}, clock at ${l.now}`);
  must(
    keys
      .map((k) => k.key)
      .sort()
      .join() ===
      snap.engine.keys
        .map((k) => k.key)
        .sort()
        .join(),
    () => `keys() lists ${keys.map((k) => k.key).join()}, the snapshot other keys`,
  );
  let inFlight = 0;
  for (const s of snap.engine.keys) {
    const k = l.key(s.key);
    checkKey(`key ${s.key} at ${l.now}`, s, k, s.blockedBy);
    inFlight += k.inFlight.size;
  }
  must(
    snap.engine.globalInFlight === inFlight &&
      global.inFlight === inFlight &&
      inFlight === l.globalInFlight,
    () =>
      `global in flight ${snap.engine.globalInFlight} (snapshot), ${global.inFlight} (global()), ` +
      `ledger ${inFlight}`,
  );
  must(
    snap.engine.globalParallelism === l.globalMax && global.parallelism === l.globalMax,
    () => `global limit differs`,
  );
  must(
    l.globalMax === null || inFlight <= l.globalMax || l.globalOver,
    () => `${inFlight} in flight over the global limit ${l.globalMax}`,
  );
  checkStats(snap.engine.stats, l);
}
