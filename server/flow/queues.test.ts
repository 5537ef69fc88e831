import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../store/memory-store';
import { MemoryRecords, type Records } from '../store/records';
import { keyId, messageId } from '../../shared/engine/units';
import type { EngineEvent } from '../../shared/events';
import { InvalidRequest } from '../../shared/protocol/invalid-request';
import { interleaved } from '../test/interleaved-records';
import { manualTime } from '../test/manual-time';
import { FlowController } from './controller';
import { isQueueName, parseUpsertQueue, queueKey, Queues } from './queues';
import type { Delivery } from './types';

/** A store over a real controller whose deliveries never end (they stay in flight). */
function setup(records: Records = new MemoryRecords()) {
  const time = manualTime(1_000);
  const started: Delivery[] = [];
  const controller = new FlowController({
    store: new MemoryStore({ clock: time.clock }),
    clock: time.clock,
    deliverer: {
      deliver(d) {
        started.push(d);
        return new Promise(() => {});
      },
    },
    timers: time.timers,
  });
  const events: EngineEvent[] = [];
  controller.onEvents((evs) => events.push(...evs));
  const queues = new Queues(controller, records);
  let n = 0;
  /** Publishes a message under `key` as the enqueue handler does (with the queue's config). */
  const publish = (key: string, parallelism = 1) =>
    controller.publish(
      { id: messageId(`m${++n}`), key: keyId(key), config: { parallelism } },
      { destination: 'sim://q', method: 'POST', headers: {} },
    );
  const key = (name: string) => controller.key(queueKey(name));
  return { time, controller, queues, records, started, events, publish, key };
}

describe('isQueueName', () => {
  it.each(['q', 'my-queue', 'v1.jobs_all', 'Q'.repeat(128)])('accepts %j', (name) => {
    expect(isQueueName(name)).toBe(true);
  });
  it.each(['', 'Q'.repeat(129), 'a b', 'a/b', 'a:b', 'ü', 'a?x=1', 'no*stars'])(
    'refuses %j',
    (name) => {
      expect(isQueueName(name)).toBe(false);
    },
  );
});

describe('parseUpsertQueue', () => {
  it('reads {queueName, parallelism, paused}, with the client defaults 1 and false', () => {
    expect(parseUpsertQueue({ queueName: 'q', parallelism: 4, paused: true })).toEqual({
      name: 'q',
      parallelism: 4,
      paused: true,
    });
    expect(parseUpsertQueue({ queueName: 'q' })).toEqual({
      name: 'q',
      parallelism: 1,
      paused: false,
    });
  });

  it.each([
    [null, /body must be a JSON object/],
    [[], /body must be a JSON object/],
    ['q', /body must be a JSON object/],
    [{}, /queueName must be a string/],
    [{ queueName: 3 }, /queueName must be a string/],
    [{ queueName: 'a b' }, /queue name "a b" is not valid/],
    [{ queueName: 'q', parallelism: 0 }, /parallelism must be a whole number ≥ 1, got 0/],
    [{ queueName: 'q', parallelism: -2 }, /parallelism must be a whole number ≥ 1, got -2/],
    [{ queueName: 'q', parallelism: 1.5 }, /parallelism must be a whole number ≥ 1, got 1.5/],
    [{ queueName: 'q', parallelism: '2' }, /parallelism must be a whole number ≥ 1, got "2"/],
    [{ queueName: 'q', paused: 'yes' }, /paused must be true or false, got "yes"/],
  ])('refuses %j', (raw, message) => {
    expect(() => parseUpsertQueue(raw)).toThrow(InvalidRequest);
    expect(() => parseUpsertQueue(raw)).toThrow(message);
  });
});

describe('Queues', () => {
  it('creates a queue on upsert and pins its parallelism on the key queue:{name}', async () => {
    const { queues, key } = setup();
    const q = await queues.upsert({ queueName: 'q', parallelism: 2 });
    expect(q).toEqual({
      name: 'q',
      createdAt: 1_000,
      updatedAt: 1_000,
      parallelism: 2,
      paused: false,
    });
    expect(await queues.get('q')).toEqual(q);
    expect(key('q')).toMatchObject({ parallelism: 2, pinnedParallelism: true, paused: false });
  });

  it('updates a queue: new parallelism and updatedAt, same createdAt; messages cannot change the pin', async () => {
    const { queues, key, time, publish, started } = setup();
    await queues.upsert({ queueName: 'q', parallelism: 2 });
    // A message under the key asking for parallelism 5 does not get it: the pin holds.
    for (let i = 0; i < 4; i++) publish('queue:q', 5);
    expect(started).toHaveLength(2);
    expect(key('q')).toMatchObject({ parallelism: 2, inFlight: 2, waitListSize: 2 });
    time.advance(2_000);
    await queues.upsert({ queueName: 'q', parallelism: 3 });
    expect(await queues.get('q')).toEqual({
      name: 'q',
      createdAt: 1_000,
      updatedAt: 2_000,
      parallelism: 3,
      paused: false,
    });
    // The raised pin lets one more start at once.
    expect(started).toHaveLength(3);
    expect(await queues.lag('q')).toBe(1);
  });

  it('starts nothing when one upsert raises the parallelism and pauses the queue', async () => {
    const { queues, publish, started, key } = setup();
    await queues.upsert({ queueName: 'q', parallelism: 1 });
    for (let i = 0; i < 3; i++) publish('queue:q');
    expect(started).toHaveLength(1);
    await queues.upsert({ queueName: 'q', parallelism: 3, paused: true });
    expect(started).toHaveLength(1);
    expect(key('q')).toMatchObject({ parallelism: 3, paused: true, waitListSize: 2 });
    await queues.upsert({ queueName: 'q', parallelism: 3 });
    expect(started).toHaveLength(3);
  });

  it('does not pin again when an upsert leaves the parallelism as it is', async () => {
    const { queues, events } = setup();
    await queues.upsert({ queueName: 'q', parallelism: 2 });
    const before = events.length;
    await queues.upsert({ queueName: 'q', parallelism: 2 });
    expect(events.slice(before)).toEqual([]);
  });

  it('changes nothing for a refused upsert', async () => {
    const { queues, controller } = setup();
    await expect(queues.upsert({ queueName: 'q', parallelism: 0 })).rejects.toThrow(InvalidRequest);
    await queues.upsert({ queueName: 'q', parallelism: 2 });
    await expect(queues.upsert({ queueName: 'q', parallelism: 'many' })).rejects.toThrow(
      InvalidRequest,
    );
    expect(await queues.list()).toEqual([expect.objectContaining({ name: 'q', parallelism: 2 })]);
    expect(controller.keys().map((k) => k.key)).toEqual(['queue:q']);
  });

  it('lists queues in creation order; lag is the key waitlist', async () => {
    const { queues, publish } = setup();
    await queues.upsert({ queueName: 'b' });
    await queues.upsert({ queueName: 'a', parallelism: 2 });
    expect((await queues.list()).map((q) => q.name)).toEqual(['b', 'a']);
    for (let i = 0; i < 5; i++) publish('queue:a', 2);
    expect(await queues.lag('a')).toBe(3);
    expect(await queues.lag('b')).toBe(0);
    expect(await queues.lag('never')).toBe(0);
  });

  it('pauses and resumes the key, from upsert or from pause/resume', async () => {
    const { queues, key, publish, started, time } = setup();
    await queues.upsert({ queueName: 'q', parallelism: 1, paused: true });
    expect(key('q')?.paused).toBe(true);
    publish('queue:q');
    expect(started).toHaveLength(0);
    expect(await queues.lag('q')).toBe(1);
    time.advance(1_500);
    expect(await queues.resume('q')).toBe(true);
    expect(started).toHaveLength(1);
    expect(await queues.get('q')).toMatchObject({ paused: false, updatedAt: 1_500 });
    expect(await queues.pause('q')).toBe(true);
    expect(key('q')?.paused).toBe(true);
    expect((await queues.get('q'))?.paused).toBe(true);
    // An upsert sets the whole queue: without paused, it is resumed.
    await queues.upsert({ queueName: 'q', parallelism: 1 });
    expect(key('q')?.paused).toBe(false);
    expect(await queues.pause('nope')).toBe(false);
    expect(await queues.resume('nope')).toBe(false);
    expect(key('nope')).toBeUndefined();
  });

  it('deletes a queue: unpins and resumes its key, and its waiting messages go on in order', async () => {
    const { queues, key, publish, started } = setup();
    await queues.upsert({ queueName: 'q', parallelism: 1, paused: true });
    publish('queue:q');
    publish('queue:q');
    expect(await queues.delete('q')).toBe(true);
    expect(await queues.get('q')).toBeUndefined();
    expect(await queues.list()).toEqual([]);
    expect(key('q')).toMatchObject({ pinnedParallelism: false, paused: false, parallelism: 1 });
    expect(started.map((d) => d.id)).toEqual(['m1']);
    expect(await queues.lag('q')).toBe(1);
    expect(await queues.delete('q')).toBe(false);
  });

  it('creates a queue enqueued to before any upsert, with parallelism 1, pinned', async () => {
    const { queues, key } = setup();
    expect(await queues.flowFor('auto')).toEqual({
      key: 'queue:auto',
      config: { parallelism: 1 },
    });
    expect(await queues.get('auto')).toEqual({
      name: 'auto',
      createdAt: 1_000,
      updatedAt: 1_000,
      parallelism: 1,
      paused: false,
    });
    expect(key('auto')).toMatchObject({ parallelism: 1, pinnedParallelism: true });
    await queues.upsert({ queueName: 'auto', parallelism: 4 });
    expect(await queues.flowFor('auto')).toEqual({ key: 'queue:auto', config: { parallelism: 4 } });
    await expect(queues.flowFor('bad name')).rejects.toThrow(/queue name "bad name" is not valid/);
    expect((await queues.list()).map((q) => q.name)).toEqual(['auto']);
  });

  it('uses the queue another server created while this one was creating it on first enqueue', async () => {
    // Server a upserts the queue between server b's read (none yet) and b's create.
    const records = new MemoryRecords();
    const b = setup(interleaved(records, () => a.upsert({ queueName: 'race', parallelism: 4 })));
    const a = new Queues(b.controller, records);
    expect(await b.queues.flowFor('race')).toEqual({
      key: 'queue:race',
      config: { parallelism: 4 },
    });
    expect(await b.queues.list()).toEqual([
      { name: 'race', createdAt: 1_000, updatedAt: 1_000, parallelism: 4, paused: false },
    ]);
    // b did not pin its own default over a's parallelism.
    expect(b.key('race')).toMatchObject({ parallelism: 4, pinnedParallelism: true });
  });

  it('deletes once when two servers delete at once, resuming the key the deleted queue paused', async () => {
    const records = new MemoryRecords();
    let aDeleted: boolean | undefined;
    const b = setup(
      interleaved(records, async () => {
        aDeleted = await a.delete('q');
      }),
    );
    const a = new Queues(b.controller, records);
    await a.upsert({ queueName: 'q', parallelism: 2, paused: true });
    expect(await b.queues.delete('q')).toBe(false);
    expect(aDeleted).toBe(true);
    expect(b.key('q')).toMatchObject({ paused: false, pinnedParallelism: false });
  });
});
