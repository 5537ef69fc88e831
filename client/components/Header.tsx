import { useShallow } from 'zustand/react/shallow';
import type { Connection } from '../store/connection-slice';
import {
  selectConnection,
  selectGlobalInFlight,
  selectGlobalParallelism,
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
  const globalLimit = useAppStore(selectGlobalParallelism);
  return (
    <header className="app-header">
      <h1>
        <svg viewBox="0 0 32 32" aria-hidden="true" className="logo">
          <rect x="8" y="8" width="16" height="16" rx="3" transform="rotate(45 16 16)" />
        </svg>
        Baton
      </h1>
      <p role="status" className="connection" data-status={connection.status}>
        {connectionLabel(connection, synced)}
      </p>
      <ul className="totals" aria-label="Totals">
        <li>{stats.accepted} accepted</li>
        <li>
          {inFlight}
          {globalLimit !== null ? ` of ${globalLimit}` : ''} in flight
        </li>
        <li>{stats.delivered} delivered</li>
        <li>{stats.dead} failed</li>
        <li>{stats.cancelled} cancelled</li>
      </ul>
      <p className="keys-hint muted">
        <kbd>/</kbd> search keys · <kbd>Tab</kbd> and arrows move · <kbd>Enter</kbd> picks
      </p>
    </header>
  );
}
