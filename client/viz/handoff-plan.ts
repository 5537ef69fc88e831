/**
 * Turns one frame's events for a key into the token movements to animate, from the layout before
 * the frame to the layout after it. Only movements whose both ends are drawn survive: a request
 * that started and finished inside one frame has nothing to show, so a burst coalesces into the
 * net change and the animation can never run behind the state it decorates.
 */
import type { KeyLayout, Point } from './key-layout';

/**
 * How long a token travels. The requests at either end are drawn as they are from the first
 * frame; the movement only decorates them, so it is short.
 */
export const HANDOFF_MS = 360;
export const ACQUIRE_MS = 420;
/** More movements than this for one key in one frame: skip them all and just show the state. */
export const MAX_MOVES = 12;

export type Move =
  | {
      kind: 'handoff';
      token: number;
      /** The finishing request's slot. */
      from: Point;
      /** Where the receiving waiter stood in the waitlist. */
      via: Point;
      /** The receiver's slot now. */
      to: Point;
      fromId: string;
      toId: string;
    }
  | { kind: 'acquire'; token: number; from: Point; to: Point; messageId: string }
  | { kind: 'release'; token: number; from: Point; to: Point; messageId: string };

/** The few event shapes the plan reads (a subset of the engine's events). */
export type PlanEvent =
  | { type: 'token:handed-off'; from: string; to: string }
  | { type: 'token:acquired'; messageId: string }
  | { type: 'token:released'; messageId: string }
  | { type: string };

const byId = <T extends { messageId: string }>(xs: readonly T[]) =>
  new Map(xs.map((x) => [x.messageId, x]));

/**
 * The movements of one frame. `before` is null for a key first drawn in this frame (nothing moves
 * from a picture nobody saw).
 */
export function planMoves(
  before: KeyLayout | null,
  after: KeyLayout,
  events: readonly PlanEvent[],
): Move[] {
  // Without a parallelism limit there are no tokens to move.
  if (before === null || after.parallelism === null) return [];
  const prevActive = byId(before.active);
  const prevWaiters = byId(before.waiters);
  const nextActive = byId(after.active);
  const prevFree = new Map(before.tokens.map((t) => [t.token, t]));
  const nextFree = new Map(after.tokens.map((t) => [t.token, t]));
  const moves: Move[] = [];
  for (const e of events) {
    if (e.type === 'token:handed-off' && 'to' in e) {
      const from = prevActive.get(e.from);
      const to = nextActive.get(e.to);
      if (from === undefined || to === undefined) continue;
      const via = prevWaiters.get(e.to) ?? before.more.waiters;
      moves.push({
        kind: 'handoff',
        token: to.token,
        from: pt(from),
        via: pt(via),
        to: pt(to),
        fromId: e.from,
        toId: e.to,
      });
    } else if (e.type === 'token:acquired' && 'messageId' in e) {
      const to = nextActive.get(e.messageId);
      if (to === undefined || prevActive.has(e.messageId)) continue;
      const from = prevFree.get(to.token) ?? before.tokens[0] ?? before.more.tokens;
      moves.push({
        kind: 'acquire',
        token: to.token,
        from: pt(from),
        to: pt(to),
        messageId: e.messageId,
      });
    } else if (e.type === 'token:released' && 'messageId' in e) {
      const from = prevActive.get(e.messageId);
      if (from === undefined) continue;
      const to = nextFree.get(from.token);
      if (to === undefined) continue;
      moves.push({
        kind: 'release',
        token: from.token,
        from: pt(from),
        to: pt(to),
        messageId: e.messageId,
      });
    }
  }
  // A later movement of the same token supersedes an earlier one: only the last is drawn.
  const last = new Map<number, Move>();
  for (const m of moves) last.set(m.token, m);
  const out = [...last.values()];
  return out.length > MAX_MOVES ? [] : out;
}

const pt = (p: Point): Point => ({ x: p.x, y: p.y });
