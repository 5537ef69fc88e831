import type { StateCreator } from 'zustand/vanilla';
import type { AppState } from './app-store';

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected';

export interface Connection {
  status: ConnectionStatus;
  /** Why the last attempt failed, when it did (shown next to the status). */
  error: string | null;
}

/** The socket's state, as the header shows it. */
export interface ConnectionSlice {
  connection: Connection;
  /** The socket connected, dropped, or failed to connect. */
  connectionChanged(status: ConnectionStatus, error?: string): void;
}

export const createConnectionSlice: StateCreator<AppState, [], [], ConnectionSlice> = (set) => ({
  connection: { status: 'connecting', error: null },
  connectionChanged: (status, error) => set({ connection: { status, error: error ?? null } }),
});
