import type { WaitReason } from '../../events';
import type { EngineStats, KeySnapshot, MessageView } from '../types';
import { ms } from '../units';
import type { Handles } from './handles';
import { ENDED, must, type KeyConfig, type KeyModel, type Ledger, type Msg } from './ledger';

/** Compares the ledger with everything the engine reports about itself, after a command. */
export function crossCheck(l: Ledger, handles: Handles): void {
  const engine = l.engine;
  const now = ms(l.now);
  for (const m of l.msgs.values()) checkMessage(l, m, handles.view(m.id), 'engine');
  let inFlight = 0;
  for (const id of engine.keyIds()) {
    const s = engine.getKey(id, now, 1_000_000);
    const k = l.key(id);
    must(s !== undefined, () => `key ${id} vanished`);
    const where = `key ${id} at ${l.now}`;
    checkKey(where, s, k, engine.blockedBy(id, now));
    inFlight += k.inFlight.size;
  }
  must(
    engine.globalInFlightCount === inFlight && inFlight === l.globalInFlight,
    () => `global in flight ${engine.globalInFlightCount}, ledger ${inFlight}`,
  );
  must(engine.globalParallelism === l.globalMax, () => `global limit differs`);
  must(
    l.globalMax === null || inFlight <= l.globalMax || l.globalOver,
    () => `${inFlight} in flight over the global limit ${l.globalMax}`,
  );
  checkStats(engine.stats, l);
}

/**
 * One message against what the engine or store says of it (`v`: its view, undefined once ended);
 * `who` names the one read, for the message. True when the message has ended.
 */
export function checkMessage(
  l: Ledger,
  m: Msg,
  v: MessageView | undefined,
  who: 'engine' | 'store',
): boolean {
  must(
    m.place !== 'limbo' && m.place !== 'ending',
    () => `${m.id} left ${m.place} after the command`,
  );
  if (ENDED.has(m.place)) {
    must(v === undefined, () => `${m.id} is ${m.place} but the ${who} still has it (${v?.state})`);
    return true;
  }
  must(
    v?.state === m.place,
    () => `${m.id} is ${m.place} in the ledger, ${v?.state} in the ${who}`,
  );
  must(v.attempt === m.attempt && v.key === m.key, () => `${m.id} attempt/key differ`);
  if (m.place === 'scheduled' || m.place === 'retry-scheduled') {
    must(
      v.dueAt === m.dueAt && m.dueAt > l.now,
      () => `${m.id} due ${v.dueAt}/${m.dueAt} at ${l.now}`,
    );
  }
  return false;
}

/** One key's snapshot against the ledger's model of it; `blocked`: why its head waits now. */
export function checkKey(
  where: string,
  s: KeySnapshot,
  k: KeyModel,
  blocked: WaitReason | null,
): void {
  must(
    s.inFlight === k.inFlight.size,
    () => `${where}: inFlight ${s.inFlight}, ledger ${k.inFlight.size}`,
  );
  must(
    s.active
      .map((a) => a.messageId)
      .sort()
      .join() === [...k.inFlight].sort().join(),
    () =>
      `${where}: active ${s.active.map((a) => a.messageId).join()} vs ${[...k.inFlight].join()}`,
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
    () => `${where}: config ${JSON.stringify(actual)}, commands call for ${JSON.stringify(k.want)}`,
  );
  must(
    k.parallelism === null || k.inFlight.size <= k.parallelism || k.over,
    () => `${where}: ${k.inFlight.size} in flight over parallelism ${k.parallelism}`,
  );
  // Nothing waits that could start now.
  must(
    k.waiting.length === 0 || blocked !== null,
    () => `${where}: ${k.waiting.length} waiting but nothing blocks them`,
  );
}

/** The engine's or store's counts against the ledger's. */
export function checkStats(st: EngineStats, l: Ledger): void {
  must(
    st.accepted === l.msgs.size &&
      st.accepted === l.stats.accepted &&
      st.delivered === l.stats.delivered &&
      st.dead === l.stats.dead &&
      st.cancelled === l.stats.cancelled,
    () => `stats ${JSON.stringify(st)} vs ledger ${JSON.stringify(l.stats)}`,
  );
}
