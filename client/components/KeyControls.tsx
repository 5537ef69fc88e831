import { useState, type FormEvent } from 'react';
import { pauseKey, pinKey, resetRate, resumeKey, unpinKey } from '../net/api';
import type { KeyView } from '../store/flow-types';

export interface KeyControlsProps {
  /** The key the buttons act on. */
  k: KeyView;
}

/**
 * Pause/resume, pin/unpin and reset rate for one key, through the same management endpoints
 * `curl` or the QStash clients use. The buttons only send; the picture changes when the server's
 * events arrive, so it never shows a state the server did not reach.
 */
export function KeyControls({ k }: KeyControlsProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pinning, setPinning] = useState(false);

  async function act(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  function pin(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const num = (name: string) => {
      const raw = String(data.get(name) ?? '').trim();
      return raw === '' ? undefined : Number(raw);
    };
    const parallelism = num('parallelism');
    const rate = num('rate');
    const periodSeconds = num('period');
    void act(async () => {
      await pinKey(k.key, {
        ...(parallelism !== undefined ? { parallelism } : {}),
        ...(rate !== undefined ? { rate } : {}),
        ...(periodSeconds !== undefined ? { periodSeconds } : {}),
      });
      setPinning(false);
    });
  }

  const pinned = k.pinnedParallelism || k.pinnedRate;
  return (
    <div className="controls">
      <div className="buttons" role="toolbar" aria-label={`Controls of ${k.key}`}>
        {k.paused ? (
          <button type="button" disabled={busy} onClick={() => void act(() => resumeKey(k.key))}>
            Resume
          </button>
        ) : (
          <button type="button" disabled={busy} onClick={() => void act(() => pauseKey(k.key))}>
            Pause
          </button>
        )}
        <button type="button" aria-expanded={pinning} onClick={() => setPinning((p) => !p)}>
          Pin…
        </button>
        <button
          type="button"
          disabled={busy || !pinned}
          onClick={() =>
            void act(() =>
              unpinKey(k.key, { parallelism: k.pinnedParallelism, rate: k.pinnedRate }),
            )
          }
        >
          Unpin
        </button>
        <button
          type="button"
          disabled={busy || k.rate === null}
          onClick={() => void act(() => resetRate(k.key))}
        >
          Reset rate
        </button>
      </div>
      {pinning && (
        <form className="pin-form" aria-label={`Pin ${k.key}`} onSubmit={pin}>
          <label>
            Parallelism
            <input name="parallelism" type="number" min={1} defaultValue={k.parallelism ?? ''} />
          </label>
          <label>
            Rate
            <input name="rate" type="number" min={1} defaultValue={k.rate ?? ''} />
          </label>
          <label>
            Period (s)
            <input
              name="period"
              type="number"
              min={1}
              defaultValue={k.rate === null ? '' : Math.round(k.periodMs / 1000)}
            />
          </label>
          <button type="submit" disabled={busy}>
            Pin
          </button>
        </form>
      )}
      {error !== null && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
