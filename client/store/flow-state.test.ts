import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../shared/events';
import { messageId, ms } from '../../shared/engine/units';
import { engineHarness } from './engine-harness';
import {
  applyEvents,
  fromSnapshot,
  initialFlowState,
  VISIBLE_WAITERS,
  type FlowState,
} from './flow-state';

/** Applies `batch`, expecting it to apply cleanly. */
function applied(state: FlowState, batch: EngineEvent[]): FlowState {
  const r = applyEvents(state, batch);
  expect(r.outcome).toBe('applied');
  return r.state;
}

const ids = (xs: ReadonlyArray<{ messageId: string }>) => xs.map((x) => x.messageId);

describe('fromSnapshot', () => {
  it('numbers the held tokens and keeps the waitlist in order', () => {
    const h = engineHarness();
    for (let i = 0; i < 4; i++) h.publish('k', 2);
    const state = fromSnapshot(h.snapshot());
    expect(state.synced).toBe(true);
    const k = state.keys.k!;
    expect(k.active.map((a) => [a.messageId, a.token])).toEqual([
      ['msg_1', 1],
      ['msg_2', 2],
    ]);
    expect(ids(k.waiting)).toEqual(['msg_3', 'msg_4']);
  });
});

describe('applyEvents', () => {
  it('ignores batches until the first snapshot', () => {
    const h = engineHarness();
    const r = applyEvents(initialFlowState, h.publish('k', 1));
    expect(r).toEqual({ state: initialFlowState, outcome: 'ignored' });
  });

  it('shows a start, the waiters in order, then the handoff of the same token', () => {
    const h = engineHarness();
    let s = fromSnapshot(h.snapshot());
    s = applied(s, [
      ...h.publish('k', 2),
      ...h.publish('k', 2),
      ...h.publish('k', 2),
      ...h.publish('k', 2),
    ]);
    let k = s.keys.k!;
    expect(k.parallelism).toBe(2);
    expect(k.active.map((a) => [a.messageId, a.token])).toEqual([
      ['msg_1', 1],
      ['msg_2', 2],
    ]);
    expect(k.waiting.map((w) => [w.messageId, w.reason])).toEqual([
      ['msg_3', 'parallelism'],
      ['msg_4', 'parallelism'],
    ]);
    expect(s.globalInFlight).toBe(2);

    s = applied(s, h.finish(messageId('msg_2')));
    k = s.keys.k!;
    expect(k.active.map((a) => [a.messageId, a.token])).toEqual([
      ['msg_1', 1],
      ['msg_3', 2],
    ]);
    expect(ids(k.waiting)).toEqual(['msg_4']);
    expect(k.waitListSize).toBe(1);
    expect(s.stats).toMatchObject({ accepted: 4, delivered: 1 });
  });

  it('frees the token when nobody waits', () => {
    const h = engineHarness();
    let s = fromSnapshot(h.snapshot());
    s = applied(s, h.publish('k', 3));
    s = applied(s, h.finish(messageId('msg_1')));
    expect(s.keys.k).toMatchObject({ inFlight: 0, active: [], waiting: [] });
    expect(s.globalInFlight).toBe(0);
  });

  it('skips events it already has and never mutates the state it is given', () => {
    const h = engineHarness();
    const start = fromSnapshot(h.snapshot());
    const batch = h.publish('k', 1);
    const once = applied(start, batch);
    expect(start.keys).toEqual({});
    const again = applyEvents(once, batch);
    expect(again).toEqual({ state: once, outcome: 'ignored' });
  });

  it('asks for a resync on a gap in seq and ignores batches until a snapshot', () => {
    const h = engineHarness();
    const s = fromSnapshot(h.snapshot());
    h.publish('k', 1); // never reaches the client
    const r = applyEvents(s, h.publish('k', 1));
    expect(r.outcome).toBe('resync');
    expect(r.state).toEqual({ ...s, synced: false });
    expect(applyEvents(r.state, h.publish('k', 1)).outcome).toBe('ignored');
    expect(fromSnapshot(h.snapshot()).keys.k?.waitListSize).toBe(2);
  });

  it('counts waiters past the visible ones, and asks for a resync when the visible ones run out', () => {
    const h = engineHarness();
    h.publish('k', 1);
    for (let i = 0; i < VISIBLE_WAITERS + 5; i++) h.publish('k', 1);
    let s = fromSnapshot(h.snapshot());
    s = applied(s, h.publish('k', 1));
    expect(s.keys.k!.waiting).toHaveLength(VISIBLE_WAITERS);
    expect(s.keys.k!.waitListSize).toBe(VISIBLE_WAITERS + 6);
    for (let i = 0; i < VISIBLE_WAITERS - 1; i++) s = applied(s, h.finish(h.oldestInFlight()));
    const r = applyEvents(s, h.finish(h.oldestInFlight()));
    expect(r.outcome).toBe('resync');
    expect(r.state.keys.k!.waitListSize).toBe(6);
  });

  it('tracks delayed and retrying messages as scheduled', () => {
    const h = engineHarness();
    let s = fromSnapshot(h.snapshot());
    s = applied(s, h.publish('k', 1, { delayMs: 1000 }));
    expect(s.keys.k!.scheduled).toBe(1);
    s = applied(s, h.advance(1000));
    expect(s.keys.k).toMatchObject({ scheduled: 0, inFlight: 1 });
    s = applied(s, [...h.publish('k', 1, { retries: 1 }), ...h.finish(messageId('msg_1'), false)]);
    expect(s.keys.k).toMatchObject({ scheduled: 0, inFlight: 1, waitListSize: 0 });
    s = applied(s, h.finish(messageId('msg_2'), false));
    expect(s.keys.k).toMatchObject({ scheduled: 1, inFlight: 0 });
    s = applied(s, h.advance(60_000));
    expect(s.keys.k).toMatchObject({ scheduled: 0, inFlight: 1 });
  });

  it('follows pause, resume and global parallelism', () => {
    const h = engineHarness();
    let s = fromSnapshot(h.snapshot());
    s = applied(s, h.pause('k'));
    expect(s.keys.k!.paused).toBe(true);
    s = applied(s, h.resume('k'));
    expect(s.keys.k!.paused).toBe(false);
    s = applied(s, h.engine.setGlobalParallelism(4, ms(1_000_000)));
    expect(s.globalParallelism).toBe(4);
    expect(s.keys.$).toBeUndefined();
  });

  it('drops a forgotten key, and one that comes back in the same batch starts new', () => {
    const h = engineHarness();
    let s = fromSnapshot(h.snapshot());
    s = applied(s, h.publish('gone', 2));
    s = applied(s, h.publish('back', 2));
    s = applied(s, [...h.finish(messageId('msg_1')), ...h.finish(messageId('msg_2'))]);
    h.advance(60_000);
    const batch = [...h.forgetIdle(1000), ...h.publish('back', 5)];
    expect(batch.filter((e) => e.type === 'key:forgotten').map((e) => e.key)).toEqual([
      'gone',
      'back',
    ]);
    s = applied(s, batch);
    expect(s.keys.gone).toBeUndefined();
    expect(s.keys.back).toMatchObject({ parallelism: 5, inFlight: 1 });
    expect(s.keys.back!.active.map((a) => a.token)).toEqual([1]);
  });
});

describe('Workflow steps', () => {
  const step = (name: string) => ({ runId: 'wfr_1', step: name });
  /** What the server streams for a Workflow message: its `message:accepted` tagged. */
  const asStep = (events: EngineEvent[], name: string): EngineEvent[] =>
    events.map((e) => (e.type === 'message:accepted' ? { ...e, workflow: step(name) } : e));

  it('keeps the step of each message from message:accepted until it ends', () => {
    const h = engineHarness();
    let s = fromSnapshot(h.snapshot());
    s = applied(s, [
      ...asStep(h.publish('k', 1), 'init'),
      ...asStep(h.publish('k', 1, { retries: 1 }), 'send-email'),
      ...h.publish('k', 1),
      ...asStep(h.publish('k', 1, { delayMs: 5000 }), 'later'),
    ]);
    expect(s.workflows).toEqual({
      msg_1: step('init'),
      msg_2: step('send-email'),
      msg_4: step('later'),
    });
    // The waiter is listed without it: the view looks it up by id.
    expect(s.keys.k!.waiting[0]).not.toHaveProperty('workflow');

    s = applied(s, h.finish(messageId('msg_1')));
    expect(Object.keys(s.workflows)).toEqual(['msg_2', 'msg_4']);
    // A failed attempt that will be retried is the same step, still live.
    s = applied(s, h.finish(messageId('msg_2'), false));
    expect(Object.keys(s.workflows)).toEqual(['msg_2', 'msg_4']);
    s = applied(s, h.cancel(3));
    expect(Object.keys(s.workflows)).toEqual(['msg_2']);
  });

  it('leaves the steps as they were when a batch changes none', () => {
    const h = engineHarness();
    let s = fromSnapshot(h.snapshot());
    s = applied(s, asStep(h.publish('k', 1), 'init'));
    const before = s.workflows;
    s = applied(s, [...h.publish('other', 1), ...h.finish(messageId('msg_2'))]);
    expect(s.workflows).toBe(before);
  });

  it('takes the steps of active and waiting messages from a snapshot, replacing the old', () => {
    const h = engineHarness();
    for (let i = 0; i < 3; i++) h.publish('k', 1);
    const snap = h.snapshot();
    const key = snap.engine.keys[0]!;
    const tagged = {
      ...snap,
      engine: {
        ...snap.engine,
        keys: [
          {
            ...key,
            active: key.active.map((a) => ({ ...a, workflow: step('init') })),
            waiting: key.waiting.map((w, i) => (i === 1 ? { ...w, workflow: step('b') } : w)),
          },
        ],
      },
    };
    const s = fromSnapshot(tagged);
    expect(s.workflows).toEqual({ msg_1: step('init'), msg_3: step('b') });
    expect(s.keys.k!.active[0]).not.toHaveProperty('workflow');
    expect(s.keys.k!.waiting[1]).not.toHaveProperty('workflow');
    expect(fromSnapshot(h.snapshot()).workflows).toEqual({});
  });
});
