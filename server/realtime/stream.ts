/**
 * The dashboard's live feed: a snapshot when a socket connects, then the engine's events after the
 * snapshot's `seq`, batched per socket so a burst of thousands of events is a handful of emits.
 *
 * It also keeps what the dashboard showed lately (`RecentActivity`: each recently active key's
 * history and the latest events), whether or not a socket is connected, and every snapshot
 * carries it, so a page opened or reloaded mid-burst draws the last minutes too.
 *
 * Memory per socket is bounded: a socket that falls behind (its batch grows past `maxBatch`, or
 * its transport's write buffer backs up) loses its pending events and gets a fresh snapshot once
 * it can take one. A snapshot is always correct, and costs one emit however far behind it was.
 */
import type { Server, Socket } from 'socket.io';
import { z } from 'zod';
import type {
  ClientToServerEvents,
  EngineEvent,
  ServerToClientEvents,
  SnapshotPayload,
} from '../../shared/events';
import { RecentActivity, type RecentOptions } from '../../shared/recent-activity';
import type { FlowController } from '../flow/controller';
import type { StoreSnapshot } from '../store/flow-store';
import { systemClock, systemTimers, type Clock, type Timers } from '../flow/types';

export interface RealtimeOptions {
  /** The shortest interval between two emits to one socket (default 50 ms). */
  batchMs?: number;
  /** More pending events than this for one socket: drop them, send a snapshot (default 5000). */
  maxBatch?: number;
  /**
   * More engine.io packets than this waiting in a socket's transport write buffer: the client is
   * not reading, so queue nothing more for it and send a snapshot once the buffer drains
   * (default 64, about three seconds of batches).
   */
  maxWriteBuffer?: number;
  clock?: Clock;
  /** The batching timers; tests inject manual ones to decide when a batch goes out. */
  timers?: Timers;
  /** Limits of the history and events snapshots carry (see shared/recent-activity.ts). */
  recent?: RecentOptions;
}

export interface Realtime {
  /** Stops streaming: no new sockets are served, pending batches are dropped, timers cleared. */
  close(): void;
}

type IoServer = Server<ClientToServerEvents, ServerToClientEvents>;
type IoSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

/** What the stream knows about one connected socket. */
interface Subscriber {
  socket: IoSocket;
  /** The `seq` of the last event queued or covered by a snapshot; later events are queued. */
  seq: number;
  pending: EngineEvent[];
  /** Behind: queue nothing, and send a snapshot at the next chance. */
  stale: boolean;
  /**
   * A snapshot is being taken (a store answering with a promise): events are queued but not
   * sent, and those the snapshot turns out to cover are dropped when it arrives.
   */
  snapshotting: boolean;
  timer: unknown;
  /** When the last emit went out, so emits stay `batchMs` apart. */
  lastEmitAt: number;
}

/** `resync` carries no payload; a client that sends one anyway is ignored, not trusted. */
const resyncArgs = z.tuple([]);

/**
 * Packets engine.io holds for a socket because its transport is still busy writing earlier ones.
 * The field is private in engine.io's typings but is the documented backpressure signal.
 */
function writeBufferLength(socket: IoSocket): number {
  return (socket.conn as unknown as { writeBuffer: readonly unknown[] }).writeBuffer.length;
}

/**
 * Streams `controller`'s events to every socket of `io`.
 *
 * Each socket gets a `snapshot` on connect and on `resync`, then `events` batches in `seq` order
 * with no gaps, at most one emit per `batchMs`. While no socket is connected nothing is buffered.
 */
export function attachRealtime(
  io: IoServer,
  controller: FlowController,
  options: RealtimeOptions = {},
): Realtime {
  const batchMs = options.batchMs ?? 50;
  const maxBatch = options.maxBatch ?? 5000;
  const maxWriteBuffer = options.maxWriteBuffer ?? 64;
  const clock = options.clock ?? systemClock;
  const timers = options.timers ?? systemTimers;
  const subscribers = new Map<string, Subscriber>();
  // Read once per key that becomes active. A store answering with a promise (Redis) cannot say
  // how a key stands right after the events, so it is asked once only: the history then keeps
  // starts and events, not points (issue 11: such a store's snapshot will carry its points).
  let readsAtOnce = true;
  const recent = new RecentActivity((key) => {
    if (!readsAtOnce) return undefined;
    const k = controller.key(key, 0);
    if (!(k instanceof Promise)) return k;
    readsAtOnce = false;
    k.catch(() => {});
    return undefined;
  }, options.recent);

  /**
   * The snapshot read in flight (a store answering with a promise), shared by every socket that
   * asks for one meanwhile: dashboards connecting together (their server restarted) cost one read,
   * which on Redis holds the store while it reads every key. `since`: the events dispatched since
   * it was asked, which a socket joining it later needs too (any of them may be newer than the
   * snapshot: a store reads after every command sent before, so nothing older is missing).
   */
  let inFlight: { subs: Subscriber[]; since: EngineEvent[] } | null = null;

  function sendSnapshot(sub: Subscriber): void {
    // A store answering with a promise (Redis) takes the snapshot later, while events go on; the
    // memory store's is taken now, between two event batches.
    sub.stale = false;
    sub.snapshotting = true;
    if (inFlight !== null) {
      sub.pending = inFlight.since.slice();
      sub.seq = Math.max(sub.seq, sub.pending.at(-1)?.seq ?? 0);
      inFlight.subs.push(sub);
      return;
    }
    sub.pending = [];
    const taken = controller.snapshot();
    if (!(taken instanceof Promise)) {
      emitSnapshot(sub, taken);
      return;
    }
    const read = { subs: [sub], since: [] as EngineEvent[] };
    inFlight = read;
    taken.then(
      (s) => {
        if (inFlight === read) inFlight = null;
        for (const x of read.subs) emitSnapshot(x, s);
      },
      () => {
        // The store could not answer (it says why in its own log): each socket tries again at
        // its next emit.
        if (inFlight === read) inFlight = null;
        for (const x of read.subs) {
          x.snapshotting = false;
          fallBehind(x);
        }
      },
    );
  }

  function emitSnapshot(sub: Subscriber, s: StoreSnapshot): void {
    const now = clock.now();
    const payload: SnapshotPayload = {
      seq: s.seq,
      at: s.at,
      policy: s.policy,
      engine: s.engine,
      history: recent.history(s.at),
      recentEvents: recent.events(s.seq),
    };
    // What arrived while it was taken and is newer than it goes out after it, in order.
    sub.pending = sub.pending.filter((e) => e.seq > s.seq);
    sub.seq = sub.pending.at(-1)?.seq ?? s.seq;
    sub.snapshotting = false;
    sub.lastEmitAt = now;
    sub.socket.emit('snapshot', payload);
    if (sub.pending.length > 0) schedule(sub);
  }

  const backedUp = (sub: Subscriber) => writeBufferLength(sub.socket) > maxWriteBuffer;

  /** Arms the socket's one timer for when its next emit may go out. */
  function schedule(sub: Subscriber): void {
    if (sub.timer !== null) return;
    const wait = Math.max(0, sub.lastEmitAt + batchMs - clock.now());
    sub.timer = timers.set(() => flush(sub), wait);
  }

  function fallBehind(sub: Subscriber): void {
    sub.pending = [];
    sub.stale = true;
    schedule(sub);
  }

  /** Sends what is due: a snapshot when stale, else the pending batch. */
  function flush(sub: Subscriber): void {
    sub.timer = null;
    if (sub.snapshotting) return;
    if (backedUp(sub)) {
      // Anything sent now would wait behind packets the client has not read yet. Drop the batch;
      // the transport's `drain` brings us back here, and then a snapshot replaces it.
      if (sub.pending.length > 0) {
        sub.pending = [];
        sub.stale = true;
      }
      return;
    }
    if (sub.stale) {
      sendSnapshot(sub);
    } else if (sub.pending.length > 0) {
      const batch = sub.pending;
      sub.pending = [];
      sub.lastEmitAt = clock.now();
      sub.socket.emit('events', batch);
    }
  }

  const offEvents = controller.onEvents((batch) => {
    recent.record(batch);
    if (subscribers.size === 0) return;
    if (inFlight !== null) {
      inFlight.since.push(...batch);
      // A socket joining now would fall behind at once: the next one takes a read of its own.
      if (inFlight.since.length > maxBatch) inFlight = null;
    }
    for (const sub of subscribers.values()) {
      if (sub.stale) continue;
      for (const e of batch) {
        // A snapshot taken while this batch was being dispatched already covers its start.
        if (e.seq <= sub.seq) continue;
        sub.seq = e.seq;
        sub.pending.push(e);
      }
      if (sub.pending.length > maxBatch) fallBehind(sub);
      else if (sub.pending.length > 0) schedule(sub);
    }
  });

  function onConnection(socket: IoSocket): void {
    const sub: Subscriber = {
      socket,
      seq: 0,
      pending: [],
      stale: false,
      snapshotting: false,
      timer: null,
      lastEmitAt: 0,
    };
    subscribers.set(socket.id, sub);
    sendSnapshot(sub);

    socket.on('resync', (...args: unknown[]) => {
      if (!resyncArgs.safeParse(args).success) return;
      // Through the timer, so a client that spams resync still gets one emit per batchMs.
      fallBehind(sub);
    });

    const onDrain = () => {
      if (sub.stale || sub.pending.length > 0) schedule(sub);
    };
    socket.conn.on('drain', onDrain);
    socket.once('disconnect', () => {
      socket.conn.off('drain', onDrain);
      if (sub.timer !== null) timers.clear(sub.timer);
      subscribers.delete(socket.id);
    });
  }

  io.on('connection', onConnection);

  return {
    close() {
      io.off('connection', onConnection);
      offEvents();
      for (const sub of subscribers.values()) if (sub.timer !== null) timers.clear(sub.timer);
      subscribers.clear();
    },
  };
}
