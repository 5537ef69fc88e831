import { useRef, useState, type KeyboardEvent } from 'react';
import type { WaitReason, WorkflowTag } from '../../shared/events';
import { useListGlide } from '../hooks/useListGlide';
import { useOnScreen } from '../hooks/useOnScreen';
import type { Arrival } from '../store/activity';
import type { ActiveRequest, KeyView, Waiter } from '../store/flow-types';
import { useAppStoreApi } from '../store/useAppStore';
import { tooBusyToGlide } from '../viz/glide';
import {
  CAPTION_DY,
  DIAGRAM_WIDTH,
  FIRST_ROW_Y,
  ITEM,
  TITLE_Y,
  keyLayout,
  tipArea,
} from '../viz/key-layout';
import { palette } from '../viz/palette';
import { circlePaths, diamondPaths, linePaths, variantOf } from '../viz/rough-shapes';
import { ArrivalSketch } from './ArrivalSketch';
import { HandoffLayer } from './HandoffLayer';
import { ItemTooltip, type TipTarget } from './ItemTooltip';
import { Rough } from './Rough';
import { ordinal } from './format';
import { stepCaption, stepPhrase } from './step-text';

export interface ParallelismDiagramProps {
  k: KeyView;
  /** The Workflow step of each of its messages that is one, by message id. */
  steps: Readonly<Record<string, WorkflowTag>>;
  /** The key's latest refused arrival, while it is recent. */
  arrival: Arrival | undefined;
  /** Server time when the view mounted: only what starts or frees later is marked on arrival. */
  mountedAt: number;
  /** What holds the waitlist back now (names the waiters); null when nothing does. */
  reason: WaitReason | null;
  /** A waiter was chosen (click, Enter or Space): explain why it waits. */
  onExplain(messageId: string): void;
}

/** A token inside a request circle, and a free one (drawn larger, as the docs do). */
const TOKEN = ITEM * 0.62;
const FREE_TOKEN = ITEM * 0.8;

/** Moves focus between the items of one list with the arrow keys, Home and End. */
function onListKeys(e: KeyboardEvent<SVGGElement>) {
  const items = [...e.currentTarget.querySelectorAll<SVGGElement>('[role="listitem"]')];
  const i = items.indexOf(e.target as SVGGElement);
  if (i < 0) return;
  const next =
    e.key === 'ArrowRight' || e.key === 'ArrowDown'
      ? i + 1
      : e.key === 'ArrowLeft' || e.key === 'ArrowUp'
        ? i - 1
        : e.key === 'Home'
          ? 0
          : e.key === 'End'
            ? items.length - 1
            : null;
  if (next === null) return;
  e.preventDefault();
  items[Math.max(0, Math.min(items.length - 1, next))]?.focus();
}

const place = (x: number, y: number) => ({ transform: `translate(${x}px, ${y}px)` });

/** ", step send-email of run wfr_…" after an item's accessible name, when it is a step. */
const stepSuffix = (tag: WorkflowTag | undefined) =>
  tag === undefined ? '' : `, ${stepPhrase(tag)}`;

/**
 * One key drawn as the Upstash docs draw it: free tokens as blue diamonds, active requests as
 * circles holding a token, the waitlist as yellow circles in order; a request that is a Workflow
 * step is captioned with its step and run. Every token and request is a list item whose
 * accessible name says what it is; hovering or focusing one tells more. Every frame draws the whole
 * state: what just changed is marked (a ring, a travelling token), never hidden, and items glide
 * only where they cannot overlap or lag (hooks/useListGlide.ts). Off screen it animates nothing,
 * and a key too busy for its waiters to glide has them step.
 */
export function ParallelismDiagram({
  k,
  steps,
  arrival,
  mountedAt,
  reason,
  onExplain,
}: ParallelismDiagramProps) {
  const store = useAppStoreApi();
  const layout = keyLayout({ ...k, steps });
  const wrap = useRef<HTMLDivElement>(null);
  const onScreen = useOnScreen(wrap);
  // Read, not subscribed: the history moves with the frames that re-render this view anyway, and
  // the glide only matters when something moves. `flow.at` is the latest frame's server time.
  const state = store.getState();
  const busy = tooBusyToGlide(state.histories.get(k.key)?.starts ?? [], state.flow.at);
  const [tip, setTip] = useState<TipTarget | null>(null);
  const tokenList = useRef<SVGGElement>(null);
  const activeList = useRef<SVGGElement>(null);
  const waitList = useRef<SVGGElement>(null);
  const still = busy || !onScreen;
  useListGlide(
    tokenList,
    layout.tokens.map((t) => ({ messageId: String(t.token), x: t.x, y: t.y })),
    still,
  );
  useListGlide(activeList, layout.active, still);
  useListGlide(waitList, layout.waiters, still);
  const [tokCol, actCol] = layout.columns;
  const limit = k.parallelism;
  const waitReason = reason ?? k.waiting[0]?.reason ?? 'parallelism';
  const activeById = new Map<string, ActiveRequest>(k.active.map((a) => [a.messageId, a]));
  const waiterById = new Map<string, Waiter>(k.waiting.map((w) => [w.messageId, w]));

  const show = (target: TipTarget) => setTip(target);
  const hide = () => setTip(null);
  const scale = () => {
    const svg = wrap.current?.querySelector('svg');
    return svg === null || svg === undefined ? 1 : svg.getBoundingClientRect().width / layout.width;
  };
  const hover = (target: Omit<TipTarget, 'scale'>) => ({
    onMouseEnter: () => show({ ...target, scale: scale() }),
    onMouseLeave: hide,
    onFocus: () => show({ ...target, scale: scale() }),
    onBlur: hide,
  });

  const arrivalTarget =
    arrival === undefined || arrival.reason === 'rate'
      ? undefined
      : (layout.waiters.find((w) => w.messageId === arrival.messageId) ?? layout.more.waiters);
  const noFreeToken = limit !== null && layout.tokens.length === 0;

  return (
    <div className="diagram-wrap" ref={wrap}>
      <svg
        className={`diagram${onScreen ? '' : ' offscreen'}${busy ? ' busy' : ''}`}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        role="group"
        aria-label="Parallelism"
        onKeyDown={(e) => e.key === 'Escape' && hide()}
      >
        <Rough
          paths={linePaths(tokCol.x1, 12, tokCol.x1, layout.height - 12, palette.rule, 4, 1)}
        />
        <Rough
          paths={linePaths(actCol.x1, 14, actCol.x1, layout.height - 10, palette.rule, 4, 2)}
        />
        {layout.columns.map((c) => (
          <text key={c.title} className="col-title" x={c.cx} y={TITLE_Y} textAnchor="middle">
            {c.title}
          </text>
        ))}

        <g ref={tokenList} role="list" aria-label="Parallelism Tokens" onKeyDown={onListKeys}>
          {layout.tokens.map((t, i) => (
            <g
              key={t.token}
              role="listitem"
              aria-label={`token ${t.token} of ${limit}, free`}
              tabIndex={i === 0 ? 0 : -1}
              className={`item${(k.freedAt[t.token] ?? 0) > mountedAt ? ' enter-release' : ''}`}
              style={place(t.x, t.y)}
              {...hover({ kind: 'token', id: String(t.token) })}
            >
              <circle className="focus-ring" r={ITEM / 2 + 5} />
              <Rough paths={diamondPaths(FREE_TOKEN, t.token % 4)} />
            </g>
          ))}
        </g>
        {limit === null && (
          <text className="note" x={tokCol.cx} y={FIRST_ROW_Y + 6} textAnchor="middle">
            No parallelism limit
          </text>
        )}

        <g ref={activeList} role="list" aria-label="Active Requests" onKeyDown={onListKeys}>
          {layout.active.map((a, i) => {
            const view = activeById.get(a.messageId);
            const fresh =
              view !== undefined && view.via !== 'snapshot' && view.startedAt > mountedAt;
            return (
              <g
                key={a.messageId}
                role="listitem"
                aria-label={
                  (limit !== null && a.token <= limit
                    ? `token ${a.token} of ${limit}, held by ${a.messageId}`
                    : `active ${a.messageId}`) + stepSuffix(a.workflow)
                }
                tabIndex={i === 0 ? 0 : -1}
                className={`item${fresh ? ` enter-${view.via}` : ''}`}
                style={place(a.x, a.y)}
                {...hover({ kind: 'active', id: a.messageId })}
              >
                <circle className="focus-ring" r={ITEM / 2 + 5} />
                <Rough paths={circlePaths(ITEM, 'request', variantOf(a.messageId))} />
                {limit !== null && <Rough paths={diamondPaths(TOKEN, a.token % 4)} />}
                {a.workflow !== undefined && <StepCaption tag={a.workflow} />}
              </g>
            );
          })}
        </g>

        <g ref={waitList} role="list" aria-label="Waitlist" onKeyDown={onListKeys}>
          {layout.waiters.map((w, i) => {
            const arriving = arrivalTarget !== undefined && arrival?.messageId === w.messageId;
            return (
              <g
                key={w.messageId}
                role="listitem"
                aria-label={`waiting ${ordinal(w.position)}, for ${waitReason}${stepSuffix(w.workflow)}`}
                tabIndex={i === 0 ? 0 : -1}
                className={`item waiter${arriving ? ' just-arrived' : ''}`}
                style={place(w.x, w.y)}
                onClick={() => onExplain(w.messageId)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' || e.key === ' ') {
                    e.preventDefault();
                    onExplain(w.messageId);
                  }
                }}
                {...hover({ kind: 'waiter', id: w.messageId })}
              >
                <circle className="focus-ring" r={ITEM / 2 + 5} />
                <Rough paths={circlePaths(ITEM, 'waiter', variantOf(w.messageId))} />
                <text className="position" y={5} textAnchor="middle">
                  {w.position}
                </text>
                {w.workflow !== undefined && <StepCaption tag={w.workflow} />}
              </g>
            );
          })}
        </g>

        <MoreLabel at={layout.more.tokens} count={layout.tokensMore} what="free" />
        <MoreLabel at={layout.more.active} count={layout.activeMore} what="active" />
        <MoreLabel at={layout.more.waiters} count={layout.waitersMore} what="waiting" />

        {arrival !== undefined && arrivalTarget !== undefined ? (
          <ArrivalSketch
            key={arrival.receivedAt}
            arrival={arrival}
            layout={layout}
            target={arrivalTarget}
          >
            {noFreeToken && <NoToken x={tokCol.cx} />}
          </ArrivalSketch>
        ) : (
          noFreeToken && <NoToken x={tokCol.cx} />
        )}
        <HandoffLayer name={k.key} width={DIAGRAM_WIDTH} paused={!onScreen} />
      </svg>
      {tip !== null && (
        <ItemTooltip
          target={tip}
          area={tipArea(
            layout,
            tip.kind === 'token' ? 'tokens' : tip.kind === 'active' ? 'active' : 'waiters',
          )}
          k={k}
          active={activeById.get(tip.id)}
          waiter={waiterById.get(tip.id)}
          workflow={tip.kind === 'token' ? undefined : steps[tip.id]}
          waitReason={waitReason}
        />
      )}
    </div>
  );
}

/** A step's name and run under its circle (the item's accessible name has them whole). */
function StepCaption({ tag }: { tag: WorkflowTag }) {
  const [step, run] = stepCaption(tag);
  return (
    <text className="step-caption" textAnchor="middle" aria-hidden="true">
      <tspan className="step-name" x={0} y={CAPTION_DY[0]}>
        {step}
      </tspan>
      <tspan className="step-run" x={0} y={CAPTION_DY[1]}>
        {run}
      </tspan>
    </text>
  );
}

/** The docs' grey note in an empty token column. */
function NoToken({ x }: { x: number }) {
  return (
    <text className="note" x={x} y={FIRST_ROW_Y - 6} textAnchor="middle">
      <tspan x={x}>No token</tspan>
      <tspan x={x} dy={24}>
        available
      </tspan>
    </text>
  );
}

/** "+N more …" under a column that draws only its first items. */
function MoreLabel({
  at,
  count,
  what,
}: {
  at: { x: number; y: number };
  count: number;
  what: string;
}) {
  if (count <= 0) return null;
  return (
    <text className="more" x={at.x} y={at.y} textAnchor="middle">
      +{count} more {what}
    </text>
  );
}
