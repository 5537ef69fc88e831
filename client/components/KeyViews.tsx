import { useShallow } from 'zustand/react/shallow';
import {
  selectConnection,
  selectFollowing,
  selectKeyCount,
  selectLastHeardAt,
  selectVisibleKeys,
} from '../store/selectors';
import { useAppStore, useAppStoreApi } from '../store/useAppStore';
import { clockTime } from './format';
import { KeyPanel } from './KeyPanel';

/**
 * The keys drawn in full: those picked in the overview, or else the latest active ones. While the
 * connection is down the last picture stays, marked as frozen, until a snapshot replaces it.
 */
export function KeyViews() {
  const store = useAppStoreApi();
  const names = useAppStore(useShallow(selectVisibleKeys));
  const following = useAppStore(selectFollowing);
  const keyCount = useAppStore(selectKeyCount);
  const connection = useAppStore(selectConnection);
  const lastHeard = useAppStore(selectLastHeardAt);
  const down = connection.status === 'disconnected';
  return (
    <div className={down ? 'key-views stale' : 'key-views'}>
      {down && (
        <p className="banner" role="alert">
          Connection lost — this is the picture at {clockTime(lastHeard)}. Reconnecting…
        </p>
      )}
      <div className="views-bar">
        {following ? (
          <span className="muted">
            Following the latest active keys. Pick keys in the overview to keep them in view.
          </span>
        ) : (
          <>
            <span className="muted">Showing the keys you picked.</span>
            <button
              type="button"
              className="link"
              onClick={() => store.getState().selectionCleared()}
            >
              Follow latest instead
            </button>
          </>
        )}
      </div>
      {names.length === 0 ? (
        <p className="empty">
          {keyCount === 0 ? (
            <>
              No keys yet. Publish a message with an <code>Upstash-Flow-Control-Key</code> header,
              or use the trigger form.
            </>
          ) : (
            'No recent activity. Pick a key in the overview to see it.'
          )}
        </p>
      ) : (
        names.map((name) => <KeyPanel key={name} name={name} />)
      )}
    </div>
  );
}
