import { useEffect, useState } from 'react';
import { getMessage, type MessageInfo } from '../net/api';
import { useNow } from '../hooks/useNow';
import type { KeyView } from '../store/flow-types';
import {
  selectGlobalInFlight,
  selectGlobalParallelism,
  selectWorkflowTag,
} from '../store/selectors';
import { useAppStore } from '../store/useAppStore';
import { explainWaiter } from './explain-wait';
import { formatDuration } from './format';

export interface WhyWaitingProps {
  k: KeyView;
  /** The waiter to explain. */
  messageId: string;
  onClose(): void;
}

/**
 * "Why is this waiting?" for one chosen waiter, kept up to date: its place, its age, and what
 * holds the key back now; plus what `GET /v2/messages/{id}` says about it.
 */
export function WhyWaiting({ k, messageId, onClose }: WhyWaitingProps) {
  const now = useNow(250);
  const globalParallelism = useAppStore(selectGlobalParallelism);
  const globalInFlight = useAppStore(selectGlobalInFlight);
  const workflow = useAppStore(selectWorkflowTag(messageId));
  const [info, setInfo] = useState<MessageInfo | string | null>(null);
  const index = k.waiting.findIndex((w) => w.messageId === messageId);
  const stillWaiting = index >= 0;
  // Asked again when it leaves the waitlist, so the server's word matches the picture.
  useEffect(() => {
    let live = true;
    getMessage(messageId).then(
      (m) => live && setInfo(m),
      (err: Error) => live && setInfo(err.message),
    );
    return () => {
      live = false;
    };
  }, [messageId, stillWaiting]);

  const waiter = k.waiting[index];
  const active = k.active.find((a) => a.messageId === messageId);
  let text: string;
  if (waiter !== undefined) {
    const ctx = { now, globalParallelism, globalInFlight };
    text = explainWaiter(k, waiter, index + 1, ctx, workflow).text;
  } else if (active !== undefined) {
    text = `It is not waiting any more: it started ${formatDuration(Math.max(0, now - active.startedAt))} ago and holds a token.`;
  } else {
    text = 'It is not waiting any more: it has started and finished.';
  }
  return (
    <aside className="why" aria-label={`Why is ${messageId} waiting?`} aria-live="polite">
      <header>
        <h3>Why is this waiting?</h3>
        <button type="button" onClick={onClose} aria-label="Close explanation">
          ×
        </button>
      </header>
      <p className="why-id">{messageId}</p>
      <p>{text}</p>
      {typeof info === 'string' && <p className="muted">Message details: {info}</p>}
      {info !== null && typeof info !== 'string' && (
        <p className="muted">
          Server says: {info.state}
          {info.retried > 0 ? `, retried ${info.retried}×` : ''} · to {info.url}
        </p>
      )}
    </aside>
  );
}
