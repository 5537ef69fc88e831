/**
 * The engine's cross-check (shared/engine/testing/cross-check.ts), read through the `FlowStore`:
 * compares the ledger, kept from the events alone, with everything the store reports about itself.
 */
import { ENDED, must, type KeyConfig, type Ledger } from '../../../shared/engine/testing/ledger';
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
    const v = views[i];
    must(
      m.place !== 'limbo' && m.place !== 'ending',
      () => `${m.id} left ${m.place} after the command`,
    );
    if (ENDED.has(m.place)) {
      must(v === undefined, () => `${m.id} is ${m.place} but the store still has it (${v?.state})`);
      seenEnded.add(m.id);
      return;
    }
    must(
      v?.state === m.place,
      () => `${m.id} is ${m.place} in the ledger, ${v?.state} in the store`,
    );
    must(v.attempt === m.attempt && v.key === m.key, () => `${m.id} attempt/key differ`);
    if (m.place === 'scheduled' || m.place === 'retry-scheduled') {
      must(
        v.dueAt === m.dueAt && m.dueAt > l.now,
        () => `${m.id} due ${v.dueAt}/${m.dueAt} at ${l.now}`,
      );
    }
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
    const where = `key ${s.key} at ${l.now}`;
    must(
      s.inFlight === k.inFlight.size,
      () => `${where}: inFlight ${s.inFlight}, ledger ${k.inFlight.size}`,
    );
    const active = s.active.map((a) => a.messageId).sort();
    must(
      active.join() === [...k.inFlight].sort().join(),
      () => `${where}: active ${active.join()} vs ${[...k.inFlight].join()}`,
    );
    must(
      s.waitListSize === k.waiting.length,
      () => `${where}: waitListSize ${s.waitListSize} vs ${k.waiting.length}`,
    );
    must(
      s.waiting.map((w) => w.messageId).join() === k.waiting.join(),
      () => `${where}: waitlist ${s.waiting.map((w) => w.messageId).join()} vs ${k.waiting.join()}`,
    );
    must(
      s.scheduled === k.scheduled.size,
      () => `${where}: scheduled ${s.scheduled} vs ${k.scheduled.size}`,
    );
    must(
      s.parallelism === k.parallelism &&
        s.rate === k.rate &&
        s.periodMs === k.periodMs &&
        s.paused === k.paused,
      () => `${where}: config ${JSON.stringify(s)} vs ledger`,
    );
    must(
      s.pinnedParallelism === k.pinnedParallelism && s.pinnedRate === k.pinnedRate,
      () => `${where}: pins differ`,
    );
    const actual: KeyConfig = {
      parallelism: s.parallelism,
      rate: s.rate,
      periodMs: s.periodMs,
      pinnedParallelism: s.pinnedParallelism,
      pinnedRate: s.pinnedRate,
    };
    must(
      JSON.stringify(actual) === JSON.stringify(k.want),
      () =>
        `${where}: config ${JSON.stringify(actual)}, commands call for ${JSON.stringify(k.want)}`,
    );
    must(
      k.parallelism === null || k.inFlight.size <= k.parallelism || k.over,
      () => `${where}: ${k.inFlight.size} in flight over parallelism ${k.parallelism}`,
    );
    // Nothing waits that could start now.
    must(
      k.waiting.length === 0 || s.blockedBy !== null,
      () => `${where}: ${k.waiting.length} waiting but nothing blocks them`,
    );
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
  const st = snap.engine.stats;
  must(
    st.accepted === l.msgs.size &&
      st.accepted === l.stats.accepted &&
      st.delivered === l.stats.delivered &&
      st.dead === l.stats.dead &&
      st.cancelled === l.stats.cancelled,
    () => `stats ${JSON.stringify(st)} vs ledger ${JSON.stringify(l.stats)}`,
  );
}
