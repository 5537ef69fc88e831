/**
 * The dashboard's one Socket.IO connection: it turns what the server sends into store actions, and
 * asks for a snapshot when the store finds a gap. The only module that touches socket.io-client.
 *
 * Batches are coalesced per animation frame (see frame-batcher.ts): however many arrive between
 * two frames, the store changes once, so a burst never costs a render per batch.
 */
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, EngineEvent, ServerToClientEvents } from '../../shared/events';
import type { AppStore } from '../store/app-store';
import { pageToken } from './auth';
import { benchHook } from './bench-hook';
import { createFrameBatcher } from './frame-batcher';

export interface Stream {
  close(): void;
}

/** Connects to the server the page came from and keeps `store` in step with it. */
export function connectStream(store: AppStore): Stream {
  const token = pageToken();
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io({
    ...(token !== undefined ? { auth: { token } } : {}),
    // A restarted server is back within a second or two; do not make the person wait longer.
    reconnectionDelay: 500,
    reconnectionDelayMax: 2000,
  });
  const actions = () => store.getState();
  const bench = benchHook();
  const frames = createFrameBatcher<EngineEvent>((events) => {
    const outcome = actions().eventsReceived(events, Date.now());
    if (outcome === 'resync') {
      frames.clear();
      socket.emit('resync');
    } else if (outcome === 'applied') bench?.applied(events);
  });

  actions().connectionChanged('connecting');
  socket.on('connect', () => actions().connectionChanged('connected'));
  socket.on('disconnect', (reason) => {
    // Whatever is queued belongs to the old connection; the next one starts with a snapshot.
    frames.clear();
    actions().connectionChanged('disconnected', reason);
  });
  socket.on('connect_error', (err) => actions().connectionChanged('disconnected', err.message));
  // Every (re)connection starts with a snapshot from the server, so nothing here replays events.
  socket.on('snapshot', (payload) => {
    frames.clear();
    actions().snapshotReceived(payload, Date.now());
  });
  socket.on('events', (batch) => frames.push(batch));

  return {
    close: () => {
      frames.clear();
      socket.close();
    },
  };
}
