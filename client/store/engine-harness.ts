/**
 * A real engine driven by hand, for the store's tests: the events they apply are the ones the
 * server really sends. Test-only; nothing in the app imports it.
 */
import type { EngineEvent, SnapshotPayload } from '../../shared/events';
import { FlowEngine } from '../../shared/engine/engine';
import { Handles } from '../../shared/engine/testing/handles';
import { keyId, messageId, ms, type MessageId } from '../../shared/engine/units';

/** A real engine, so the events under test are the ones the server really sends. */
export function engineHarness(policy: 'fifo' | 'random' = 'fifo') {
  const engine = new FlowEngine({ policy, seed: 7 });
  const handles = new Handles(engine);
  let now = 1_000_000;
  let n = 0;
  const inFlight = new Set<MessageId>();
  const track = (events: EngineEvent[]) => {
    for (const e of events) {
      if (e.type === 'token:acquired') inFlight.add(e.messageId);
      if (e.type === 'token:handed-off') inFlight.add(e.to);
    }
    return events;
  };
  return {
    engine,
    inFlight,
    snapshot: (): SnapshotPayload => ({
      seq: engine.lastSeq,
      at: ms(now),
      policy: engine.policy,
      engine: engine.snapshot(ms(now)),
      history: [],
      recentEvents: [],
    }),
    pause: (key: string) => engine.pause(keyId(key), ms(now)),
    resume: (key: string) => engine.resume(keyId(key), ms(now)),
    advance: (by: number) => track(engine.tick(ms((now += by)))),
    /** Forgets the keys idle for `idleMs` (see FlowEngine.forgetIdleKeys). */
    forgetIdle: (idleMs: number) => engine.forgetIdleKeys(ms(idleMs), ms(now)),
    publish: (
      key: string,
      parallelism?: number,
      extra: { delayMs?: number; retries?: number } = {},
    ) =>
      track(
        handles.publish(
          {
            id: messageId(`msg_${++n}`),
            key: keyId(key),
            config: parallelism === undefined ? {} : { parallelism },
            retries: extra.retries ?? 0,
            ...(extra.delayMs !== undefined ? { notBefore: ms(now + extra.delayMs) } : {}),
          },
          ms(now),
        ),
      ),
    finish: (id: MessageId, ok = true) => {
      inFlight.delete(id);
      return track(handles.finish(id, ok ? { ok: true } : { ok: false, status: 500 }, ms(now)));
    },
    /** Cancels one of the messages published so far (which may have ended already). */
    cancel: (pick: number) => (n === 0 ? [] : handles.cancel(`msg_${(pick % n) + 1}`, ms(now))),
    oldestInFlight: (): MessageId => {
      const [id] = inFlight;
      if (id === undefined) throw new Error('nothing in flight');
      return id;
    },
  };
}
