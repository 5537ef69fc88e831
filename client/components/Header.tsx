import { useShallow } from 'zustand/react/shallow';
import type { Connection } from '../store/connection-slice';
import {
  selectConnection,
  selectGlobalInFlight,
  selectStats,
  selectSynced,
} from '../store/selectors';
import { useAppStore } from '../store/useAppStore';

function connectionLabel(connection: Connection, synced: boolean): string {
  switch (connection.status) {
    case 'connecting':
      return 'Connecting…';
    case 'connected':
      // Connected but unsynced: a snapshot was asked for and has not arrived yet.
      return synced ? 'Connected' : 'Syncing…';
    case 'disconnected':
      return connection.error === null ? 'Disconnected' : `Disconnected: ${connection.error}`;
  }
}

/** The page header: the connection state and the server-wide totals. */
export function Header() {
  const connection = useAppStore(selectConnection);
  const synced = useAppStore(selectSynced);
  const stats = useAppStore(useShallow(selectStats));
  const inFlight = useAppStore(selectGlobalInFlight);
  return (
    <header className="app-header">
      <h1>Baton</h1>
      <p role="status" className="connection" data-status={connection.status}>
        {connectionLabel(connection, synced)}
      </p>
      <ul className="totals" aria-label="Totals">
        <li>{stats.accepted} accepted</li>
        <li>{inFlight} in flight</li>
        <li>{stats.delivered} delivered</li>
        <li>{stats.dead} failed</li>
        <li>{stats.cancelled} cancelled</li>
      </ul>
    </header>
  );
}
