import { afterEach, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../shared/events';
import type { MessageId } from '../../shared/engine/units';
import { createAppStore } from './app-store';
import { engineHarness } from './engine-harness';
import { RunWatch } from './run-watch';

const idsOf = (events: EngineEvent[]) =>
  events.flatMap((e) => (e.type === 'message:accepted' ? [e.messageId as string] : []));

describe('RunWatch', () => {
  let watch: RunWatch | undefined;
  afterEach(() => watch?.close());

  function setup() {
    const h = engineHarness();
    const store = createAppStore();
    store.getState().snapshotReceived(h.snapshot());
    const send = (events: EngineEvent[]) => store.getState().eventsReceived(events);
    return { h, store, send };
  }

  it('follows the run’s messages, even when their events come before their ids', () => {
    const { h, store, send } = setup();
    watch = new RunWatch(store, 'k', 2, 0);
    const first = [...h.publish('k', 1), ...h.publish('k', 1)];
    send(first);
    // Another key's traffic, and the ids only now.
    send(h.publish('other', 1));
    const [a, b] = idsOf(first) as [MessageId, MessageId];
    watch.setIds([a, b]);
    expect(watch.view().rows.map((r) => r?.attempts[0]?.startAt)).toEqual([0, null]);
    expect(watch.view().done).toBe(false);

    h.advance(1000);
    send(h.finish(a));
    h.advance(500);
    send(h.finish(b));
    const v = watch.view();
    expect(v.done).toBe(true);
    expect(v.rows.map((r) => r?.attempts[0])).toEqual([
      { readyAt: 0, startAt: 0, endAt: 1000, ok: true },
      { readyAt: 0, startAt: 1000, endAt: 1500, ok: true },
    ]);
    expect(v.summary).toMatchObject({ totalMs: 1500, longestWaitMs: 1000, longestWaitRow: 1 });
  });

  it('is not done until every planned message has been published', () => {
    const { h, store, send } = setup();
    watch = new RunWatch(store, 'k', 2, 0);
    const one = h.publish('k');
    send(one);
    watch.setIds(idsOf(one));
    h.advance(10);
    send(h.finish(h.oldestInFlight()));
    expect(watch.view().done).toBe(false);
    expect(watch.view().summary.totalMs).toBeNull();
  });

  it('says so when a snapshot skipped some of the run’s events', () => {
    const { h, store, send } = setup();
    watch = new RunWatch(store, 'k', 1, 0);
    const one = h.publish('k');
    send(one);
    watch.setIds(idsOf(one));
    expect(watch.view().lost).toBe(false);
    h.advance(10);
    h.finish(h.oldestInFlight());
    store.getState().snapshotReceived(h.snapshot());
    expect(watch.view()).toMatchObject({ lost: true, done: false });
  });

  it('tells its listeners of changes, and keeps the same view while nothing changes', () => {
    const { h, store, send } = setup();
    watch = new RunWatch(store, 'k', 1, 0);
    let heard = 0;
    watch.subscribe(() => heard++);
    const v = watch.view();
    expect(watch.view()).toBe(v);
    send(h.publish('k'));
    expect(heard).toBe(1);
    expect(watch.view()).not.toBe(v);
  });
});
