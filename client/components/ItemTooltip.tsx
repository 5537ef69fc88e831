import type { WaitReason, WorkflowTag } from '../../shared/events';
import { useNow } from '../hooks/useNow';
import type { ActiveRequest, KeyView, Waiter } from '../store/flow-types';
import { selectGlobalInFlight, selectGlobalParallelism } from '../store/selectors';
import { useAppStore } from '../store/useAppStore';
import type { TipArea } from '../viz/key-layout';
import { explainWaiter } from './explain-wait';
import { formatDuration } from './format';
import { stepTitle } from './step-text';

/** What the pointer or focus is on, and the diagram's scale on screen. */
export interface TipTarget {
  kind: 'token' | 'active' | 'waiter';
  /** Token number, or message id. */
  id: string;
  scale: number;
}

export interface ItemTooltipProps {
  target: TipTarget;
  /** Where it goes, in diagram units: under its item's column (see `tipArea`). */
  area: TipArea;
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
export function ItemTooltip({
  target,
  area,
  k,
  active,
  waiter,
  workflow,
  waitReason,
}: ItemTooltipProps) {
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
  // Centred under the item's column and no wider than it: below the item it would cover the
  // column's next row, beside it the neighbouring column.
  const style = {
    left: ((area.x0 + area.x1) / 2) * target.scale,
    top: area.y * target.scale,
    maxWidth: `min(330px, ${(area.x1 - area.x0) * target.scale}px)`,
  };
  return (
    <div role="tooltip" className="tip" style={style}>
      <strong>{title}</strong>
      {workflow !== undefined && <span className="tip-step">{stepTitle(workflow)}</span>}
      <span>{body}</span>
    </div>
  );
}
