import type { WaitReason, WorkflowTag } from '../../shared/events';
import { useNow } from '../hooks/useNow';
import type { ActiveRequest, KeyView, Waiter } from '../store/flow-types';
import { selectGlobalInFlight, selectGlobalParallelism } from '../store/selectors';
import { useAppStore } from '../store/useAppStore';
import { DIAGRAM_WIDTH, ITEM } from '../viz/key-layout';
import { explainWaiter } from './explain-wait';
import { formatDuration } from './format';
import { stepTitle } from './step-text';

/** What the pointer or focus is on, in diagram units, and the diagram's scale on screen. */
export interface TipTarget {
  kind: 'token' | 'active' | 'waiter';
  /** Token number, or message id. */
  id: string;
  x: number;
  y: number;
  scale: number;
}

export interface ItemTooltipProps {
  target: TipTarget;
  k: KeyView;
  active: ActiveRequest | undefined;
  waiter: Waiter | undefined;
  /** The Workflow step the request is, when it is one. */
  workflow: WorkflowTag | undefined;
  /** The reason the waitlist waits now, for a waiter whose recorded reason is out of date. */
  waitReason: WaitReason;
}

/**
 * The details of one token or request: who holds it, which Workflow step it is, how long it has
 * waited and why.
 */
export function ItemTooltip({ target, k, active, waiter, workflow, waitReason }: ItemTooltipProps) {
  const now = useNow(250);
  const globalParallelism = useAppStore(selectGlobalParallelism);
  const globalInFlight = useAppStore(selectGlobalInFlight);
  let title: string;
  let body: string;
  if (target.kind === 'token') {
    title = `Token ${target.id} of ${k.parallelism}`;
    body = 'Free: the next request to arrive takes it and starts at once.';
  } else if (target.kind === 'active' && active !== undefined) {
    title = active.messageId;
    body =
      (k.parallelism !== null ? `Holds token ${active.token} of ${k.parallelism}. ` : '') +
      `Running for ${formatDuration(Math.max(0, now - active.startedAt))}` +
      (active.attempt > 0 ? `, retry ${active.attempt}.` : '.');
  } else if (target.kind === 'waiter' && waiter !== undefined) {
    const position = k.waiting.indexOf(waiter) + 1;
    title = waiter.messageId;
    body = explainWaiter(k, { readyAt: waiter.readyAt, reason: waitReason }, position, {
      now,
      globalParallelism,
      globalInFlight,
    }).text;
  } else {
    return null;
  }
  // A waiter's tip goes beside the waitlist, left of its column, level with the waiter: below it,
  // it would cover the next row of waiters. The others go below their item, clear of the header.
  const beside = target.kind === 'waiter';
  const style = beside
    ? {
        left: ((DIAGRAM_WIDTH * 2) / 3 - 6) * target.scale,
        top: (target.y - ITEM / 2) * target.scale,
      }
    : { left: target.x * target.scale, top: (target.y + ITEM / 2 + 8) * target.scale };
  return (
    <div role="tooltip" className={beside ? 'tip tip-beside' : 'tip'} style={style}>
      <strong>{title}</strong>
      {workflow !== undefined && <span className="tip-step">{stepTitle(workflow)}</span>}
      <span>{body}</span>
    </div>
  );
}
