/**
 * The dashboard's one Socket.IO connection: it turns what the server sends into store actions, and
 * asks for a snapshot when the store finds a gap. The only module that touches socket.io-client.
 */
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/events';
import type { AppStore } from '../store/app-store';
import { pageToken } from './auth';

export interface Stream {
  close(): void;
}

/** Connects to the server the page came from and keeps `store` in step with it. */
export function connectStream(store: AppStore): Stream {
  const token = pageToken();
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io({
    ...(token !== undefined ? { auth: { token } } : {}),
  });
  const actions = () => store.getState();

  actions().connectionChanged('connecting');
  socket.on('connect', () => actions().connectionChanged('connected'));
  socket.on('disconnect', (reason) => actions().connectionChanged('disconnected', reason));
  socket.on('connect_error', (err) => actions().connectionChanged('disconnected', err.message));
  // Every (re)connection starts with a snapshot from the server, so nothing here replays events.
  socket.on('snapshot', (payload) => actions().snapshotReceived(payload));
  socket.on('events', (batch) => {
    if (actions().eventsReceived(batch) === 'resync') socket.emit('resync');
  });

  return { close: () => socket.close() };
}
