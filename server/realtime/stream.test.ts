import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import type {
  ClientToServerEvents,
  EngineEvent,
  ServerToClientEvents,
  SnapshotPayload,
  WorkflowTag,
} from '../../shared/events';
import type { FlowStore } from '../store/flow-store';
import { MemoryStore } from '../store/memory-store';
import { keyId, messageId } from '../../shared/engine/units';
import { instantDeliverer } from '../delivery/simulated';
import { FlowController } from '../flow/controller';
import { systemClock, type Deliverer, type Timers } from '../flow/types';
import { attachRealtime, type RealtimeOptions } from './stream';

type Client = ClientSocket<ServerToClientEvents, ClientToServerEvents>;
type IoServer = Server<ClientToServerEvents, ServerToClientEvents>;

/** Timers that fire only when the test says so, to decide exactly when a batch goes out. */
function manualTimers() {
  const due = new Map<number, () => void>();
  let next = 1;
  const timers: Timers = {
    set: (fn) => {
      due.set(next, fn);
      return next++;
    },
    clear: (handle) => void due.delete(handle as number),
  };
  return {
    timers,
    get armed() {
      return due.size;
    },
    fire() {
      const fns = [...due.values()];
      due.clear();
      for (const fn of fns) fn();
    },
  };
}

/** Everything one client received, in order, with a way to wait for what comes next. */
function record(client: Client) {
  const received: Array<
    { kind: 'snapshot'; payload: SnapshotPayload } | { kind: 'events'; batch: EngineEvent[] }
  > = [];
  const waiters: Array<() => void> = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  client.on('snapshot', (payload) => {
    received.push({ kind: 'snapshot', payload });
    wake();
  });
  client.on('events', (batch) => {
    received.push({ kind: 'events', batch });
    wake();
  });
  /** Resolves once `predicate` holds for what was received; re-checked on every message. */
  function until(predicate: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => (predicate() ? resolve() : waiters.push(check));
      check();
    });
  }
  const snapshots = () => received.flatMap((r) => (r.kind === 'snapshot' ? [r.payload] : []));
  const events = () => received.flatMap((r) => (r.kind === 'events' ? r.batch : []));
  return { received, until, snapshots, events };
}

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

/** A real Socket.IO server on an ephemeral port, streaming a real controller's events. */
async function start(options: RealtimeOptions = {}, deliverer: Deliverer = instantDeliverer) {
  const controller = new FlowController({
    store: new MemoryStore(),
    clock: systemClock,
    deliverer,
  });
  const http = createServer();
  const io: IoServer = new Server(http);
  const realtime = attachRealtime(io, controller, options);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  cleanup.push(async () => {
    realtime.close();
    controller.close();
    await io.close();
  });
  let n = 0;
  const publish = (key = 'k', parallelism = 2, workflow?: WorkflowTag) =>
    controller.publish(
      {
        id: messageId(`msg_${++n}`),
        key: keyId(key),
        config: { parallelism },
        ...(workflow !== undefined ? { workflow } : {}),
      },
      { destination: 'sim://work', method: 'POST', headers: {} },
    );
  /** Connects a client over WebSocket only, so the transport never changes under a test. */
  const client = () => {
    const c: Client = connect(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      forceNew: true,
    });
    cleanup.push(() => void c.close());
    return c;
  };
  /** The server side of the one connected socket. */
  const serverSocket = () => {
    const [socket] = io.sockets.sockets.values();
    if (socket === undefined) throw new Error('no socket is connected');
    return socket;
  };
  return { controller, io, publish, client, serverSocket };
}

/** Deliveries that never end, so the only events are the ones a test causes by publishing. */
const endless: Deliverer = { deliver: () => new Promise(() => undefined) };

const seqs = (events: EngineEvent[]) => events.map((e) => e.seq);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * A Socket.IO server on a store whose snapshot is taken at once but answered only when the test
 * releases it (a Redis round trip), while events go on.
 */
async function startSlowSnapshots(failFirst = false) {
  const inner = new MemoryStore();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let snapshots = 0;
  const store: FlowStore = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'snapshot') {
        return (limit?: number) => {
          snapshots++;
          if (failFirst && snapshots === 1) return Promise.reject(new Error('Redis is down'));
          const taken = target.snapshot(limit);
          return gate.then(() => taken);
        };
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
  const controller = new FlowController({ store, clock: systemClock, deliverer: endless });
  const http = createServer();
  const io: IoServer = new Server(http);
  const realtime = attachRealtime(io, controller);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  cleanup.push(async () => {
    realtime.close();
    await controller.close();
    await io.close();
  });
  let n = 0;
  const publish = () =>
    controller.publish(
      { id: messageId(`m${++n}`), key: keyId('slow'), config: { parallelism: 1 } },
      { destination: 'sim://work', method: 'POST', headers: {} },
    );
  const { port } = http.address() as AddressInfo;
  /** Connects a client and resolves once the server has its socket (and asked for a snapshot). */
  const client = async () => {
    const connected = new Promise<void>((resolve) => io.once('connection', () => resolve()));
    const c: Client = connect(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      forceNew: true,
    });
    cleanup.push(() => void c.close());
    const rec = record(c);
    await connected;
    return rec;
  };
  return { inner, release, publish, client, snapshots: () => snapshots };
}

describe('attachRealtime', () => {
  it('with a store whose snapshot arrives later, sends it first and then every newer event', async () => {
    const { inner, release, publish, client } = await startSlowSnapshots();
    await publish();
    const rec = await client();
    // Taken now (the snapshot covers m1), answered after three more publishes.
    for (let i = 0; i < 3; i++) await publish();
    await new Promise((r) => setTimeout(r, 120));
    expect(rec.received).toEqual([]);
    release();
    const last = inner.snapshot().seq;
    await rec.until(() => rec.events().at(-1)?.seq === last);
    expect(rec.received[0]?.kind).toBe('snapshot');
    const snap = rec.snapshots()[0]!;
    expect(seqs(rec.events())).toEqual(range(snap.seq + 1, last));
    expect(snap.engine.stats.accepted).toBe(1);
  });

  it('serves dashboards that connect while a snapshot is read from that one read', async () => {
    const { inner, release, publish, client, snapshots } = await startSlowSnapshots();
    await publish();
    const first = await client();
    await publish();
    await publish();
    // Joins the read in flight after two events the first socket queued while it waited.
    const second = await client();
    await publish();
    release();
    const last = inner.snapshot().seq;
    await first.until(() => first.events().at(-1)?.seq === last);
    await second.until(() => second.events().at(-1)?.seq === last);
    expect(snapshots()).toBe(1);
    for (const rec of [first, second]) {
      expect(rec.received[0]?.kind).toBe('snapshot');
      const snap = rec.snapshots()[0]!;
      expect(snap.engine.stats.accepted).toBe(1);
      expect(seqs(rec.events())).toEqual(range(snap.seq + 1, last));
    }
    // A dashboard connecting once it was answered gets a read of its own.
    const third = await client();
    await third.until(() => third.snapshots().length === 1);
    expect(snapshots()).toBe(2);
    expect(third.snapshots()[0]!.seq).toBe(last);
  });

  it('asks again for a snapshot the store failed to read, and goes on', async () => {
    const { inner, release, publish, client, snapshots } = await startSlowSnapshots(true);
    release();
    await publish();
    const rec = await client();
    await publish();
    const last = inner.snapshot().seq;
    const upTo = () => rec.events().at(-1)?.seq ?? rec.snapshots()[0]?.seq;
    await rec.until(() => upTo() === last);
    expect(snapshots()).toBe(2);
    const snap = rec.snapshots()[0]!;
    expect(seqs(rec.events())).toEqual(range(snap.seq + 1, last));
  });

  it('sends a snapshot first, then every later event in seq order, batched', async () => {
    const s = await start();
    s.publish('before');
    const rec = record(s.client());
    await rec.until(() => rec.snapshots().length === 1);
    const snap = rec.snapshots()[0]!;
    expect(rec.received[0]?.kind).toBe('snapshot');
    expect(snap.seq).toBe(s.controller.snapshot().seq);
    expect(snap.policy).toBe('fifo');
    expect(snap.engine.keys.map((k) => k.key)).toEqual(['before']);

    // When the stream emits each `events` batch (arrival times would add the client's jitter, and
    // engine.io may create a packet later than its emit when the machine is busy).
    const emittedAt: number[] = [];
    const socket = s.serverSocket();
    const emit = socket.emit.bind(socket) as (event: string, ...args: unknown[]) => boolean;
    socket.emit = ((event: string, ...args: unknown[]) => {
      if (event === 'events') emittedAt.push(performance.now());
      return emit(event, ...args);
    }) as typeof socket.emit;
    const delivered = () => rec.events().filter((e) => e.type === 'message:delivered').length;
    for (let round = 1; round <= 3; round++) {
      for (let i = 0; i < 10; i++) s.publish('burst', 2);
      await rec.until(() => delivered() >= 10 * round);
    }
    await rec.until(() => rec.events().at(-1)?.seq === s.controller.snapshot().seq);

    expect(seqs(rec.events())).toEqual(range(snap.seq + 1, s.controller.snapshot().seq));
    const batches = rec.received.filter((r) => r.kind === 'events');
    expect(emittedAt).toHaveLength(batches.length);
    expect(batches.length).toBeGreaterThanOrEqual(3);
    expect(batches.length).toBeLessThan(rec.events().length / 5);
    for (let i = 1; i < emittedAt.length; i++) {
      // 50 ms apart, less the millisecond rounding of Date.now and of setTimeout.
      expect(emittedAt[i]! - emittedAt[i - 1]!).toBeGreaterThanOrEqual(48);
    }
  });

  it('answers resync with a fresh snapshot and continues after its seq', async () => {
    const s = await start();
    const client = s.client();
    const rec = record(client);
    await rec.until(() => rec.snapshots().length === 1);
    s.publish();
    await rec.until(() => rec.events().length > 0);

    client.emit('resync');
    await rec.until(() => rec.snapshots().length === 2);
    const snap = rec.snapshots()[1]!;
    expect(snap.seq).toBe(s.controller.snapshot().seq);
    expect(snap.engine.stats.accepted).toBe(1);

    s.publish();
    await rec.until(() => rec.received.at(-1)?.kind === 'events');
    const after = rec.received.at(-1) as { batch: EngineEvent[] };
    expect(after.batch[0]?.seq).toBe(snap.seq + 1);
  });

  it('ignores a resync that carries a payload', async () => {
    const t = manualTimers();
    const s = await start({ timers: t.timers });
    const client = s.client();
    const rec = record(client);
    await rec.until(() => rec.snapshots().length === 1);
    // A second listener runs right after the stream's, so it tells when the server has handled it.
    const handled = () =>
      new Promise<void>((resolve) => s.serverSocket().once('resync', () => resolve()));

    let done = handled();
    (client.emit as (ev: string, ...args: unknown[]) => void)('resync', { seq: -1 });
    await done;
    expect(t.armed).toBe(0);

    done = handled();
    client.emit('resync');
    await done;
    expect(t.armed).toBe(1);
    t.fire();
    await rec.until(() => rec.snapshots().length === 2);
  });

  describe('when a client falls behind', () => {
    it('replaces a batch larger than maxBatch with a snapshot', async () => {
      const t = manualTimers();
      const s = await start({ maxBatch: 5, timers: t.timers }, endless);
      const rec = record(s.client());
      await rec.until(() => rec.snapshots().length === 1);

      for (let i = 0; i < 4; i++) s.publish('flood', 1);
      t.fire();
      await rec.until(() => rec.snapshots().length === 2);
      expect(rec.events()).toEqual([]);
      const snap = rec.snapshots()[1]!;
      expect(snap.engine.keys[0]).toMatchObject({ key: 'flood', parallelism: 1 });
      expect(snap.engine.stats.accepted).toBe(4);

      // The stream goes on from the new snapshot, with no gap.
      s.publish('flood', 1);
      t.fire();
      await rec.until(() => rec.events().length > 0);
      expect(rec.events()[0]?.seq).toBe(snap.seq + 1);
    });

    it('waits out a backed-up transport, then sends a snapshot instead of the dropped events', async () => {
      const t = manualTimers();
      const s = await start({ maxWriteBuffer: 1, timers: t.timers }, endless);
      const rec = record(s.client());
      await rec.until(() => rec.snapshots().length === 1);
      const conn = s.serverSocket().conn as unknown as {
        transport: { writable: boolean; emit(ev: 'ready'): void };
        writeBuffer: unknown[];
      };

      // A busy transport is engine.io's own state while a write is outstanding: packets queue.
      conn.transport.writable = false;
      s.publish('slow', 1);
      t.fire();
      s.publish('slow', 1);
      t.fire();
      expect(conn.writeBuffer).toHaveLength(2);
      const queuedUpTo = s.controller.snapshot().seq;
      s.publish('slow', 1);
      t.fire();
      expect(conn.writeBuffer).toHaveLength(2);
      expect(t.armed).toBe(0);

      // The transport catches up: the two queued batches go out, then a snapshot, not the drop.
      conn.transport.writable = true;
      conn.transport.emit('ready');
      expect(t.armed).toBe(1);
      t.fire();
      await rec.until(() => rec.snapshots().length === 2);
      expect(rec.received.map((r) => r.kind)).toEqual(['snapshot', 'events', 'events', 'snapshot']);
      expect(rec.events().at(-1)?.seq).toBe(queuedUpTo);
      expect(rec.snapshots()[1]!.engine.stats.accepted).toBe(3);
    });
  });

  describe('Workflow steps', () => {
    /** Every odd message is a step of run `wfr_1`, as its publisher said. */
    const step = (n: number): WorkflowTag | undefined =>
      n % 2 === 1 ? { runId: 'wfr_1', step: `step-msg_${n}` } : undefined;

    it('streams each message:accepted with the step it was published as', async () => {
      const s = await start({}, endless);
      const a = record(s.client());
      const b = record(s.client());
      await a.until(() => a.snapshots().length === 1);
      await b.until(() => b.snapshots().length === 1);
      s.publish('wf', 1, step(1));
      s.publish('wf', 1, step(2));
      const accepted = (events: EngineEvent[]) =>
        events.filter((e) => e.type === 'message:accepted');
      for (const rec of [a, b]) {
        await rec.until(() => accepted(rec.events()).length === 2);
        expect(accepted(rec.events())).toEqual([
          expect.objectContaining({
            messageId: 'msg_1',
            workflow: { runId: 'wfr_1', step: 'step-msg_1' },
          }),
          expect.not.objectContaining({ workflow: expect.anything() }),
        ]);
        for (const e of rec.events()) {
          if (e.type !== 'message:accepted') expect(e).not.toHaveProperty('workflow');
        }
      }
    });

    it('names the step of each active and waiting entry of a snapshot', async () => {
      const s = await start({}, endless);
      for (let i = 1; i <= 4; i++) s.publish('wf', 1, step(i));
      const rec = record(s.client());
      await rec.until(() => rec.snapshots().length === 1);
      const key = rec.snapshots()[0]!.engine.keys[0]!;
      expect(key.active).toEqual([
        expect.objectContaining({
          messageId: 'msg_1',
          workflow: { runId: 'wfr_1', step: 'step-msg_1' },
        }),
      ]);
      expect(key.waiting.map((w) => [w.messageId, w.workflow?.step])).toEqual([
        ['msg_2', undefined],
        ['msg_3', 'step-msg_3'],
        ['msg_4', undefined],
      ]);
      expect(key.waiting[0]).not.toHaveProperty('workflow');
    });

    it('gives a page that opens later the steps in its log', async () => {
      const s = await start({}, endless);
      s.publish('k', 2, step(1));
      s.publish('k', 2, step(2));
      const rec = record(s.client());
      await rec.until(() => rec.snapshots().length === 1);
      const accepted = rec
        .snapshots()[0]!
        .recentEvents.filter((e) => e.type === 'message:accepted');
      expect(accepted.map((e) => e.workflow?.step)).toEqual(['step-msg_1', undefined]);
    });
  });

  describe('what a snapshot brings of the last minutes', () => {
    it('brings each recent key’s history and the latest events to a page that opens later', async () => {
      const s = await start({}, endless);
      for (let i = 0; i < 3; i++) s.publish('k', 2);
      const rec = record(s.client());
      await rec.until(() => rec.snapshots().length === 1);
      const snap = rec.snapshots()[0]!;
      expect(snap.recentEvents.map((e) => e.seq)).toEqual(range(1, snap.seq));
      const [k] = snap.history;
      expect(k?.key).toBe('k');
      // Its last point: 2 in flight, 1 waiting, limit 2; two starts, neither waited.
      expect(k!.points.slice(-3)).toEqual([2, 1, 2]);
      expect(k!.starts.filter((_, i) => i % 2 === 1)).toEqual([0, 0]);
    });

    it('brings them in a snapshot resent to a client that fell behind', async () => {
      const t = manualTimers();
      const s = await start({ maxBatch: 5, timers: t.timers }, endless);
      const rec = record(s.client());
      await rec.until(() => rec.snapshots().length === 1);
      for (let i = 0; i < 4; i++) s.publish('flood', 1);
      t.fire();
      await rec.until(() => rec.snapshots().length === 2);
      expect(rec.events()).toEqual([]);
      const snap = rec.snapshots()[1]!;
      // The events the client never got are in the log it is sent.
      expect(snap.recentEvents.map((e) => e.seq)).toEqual(range(1, snap.seq));
      expect(snap.history.map((k) => k.key)).toEqual(['flood']);
      // One start (parallelism 1): its time and its wait.
      expect(snap.history[0]!.starts).toHaveLength(2);
    });

    it('stays within the limits it was given', async () => {
      const s = await start({ recent: { maxKeys: 2, events: 3 } }, endless);
      for (const key of ['a', 'b', 'c']) s.publish(key, 1);
      const rec = record(s.client());
      await rec.until(() => rec.snapshots().length === 1);
      const snap = rec.snapshots()[0]!;
      expect(snap.history.map((k) => k.key)).toEqual(['c', 'b']);
      expect(snap.recentEvents.map((e) => e.seq)).toEqual(range(snap.seq - 2, snap.seq));
    });
  });

  it('buffers nothing while no socket is connected', async () => {
    const t = manualTimers();
    const s = await start({ timers: t.timers });
    s.publish();
    expect(t.armed).toBe(0);

    const client = s.client();
    const rec = record(client);
    await rec.until(() => rec.snapshots().length === 1);
    const gone = new Promise<void>((resolve) =>
      s.serverSocket().once('disconnect', () => resolve()),
    );
    client.close();
    await gone;
    s.publish();
    expect(t.armed).toBe(0);
  });
});
