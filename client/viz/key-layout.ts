/**
 * Where each shape of a key's parallelism diagram goes: the docs' three columns (Parallelism
 * Tokens, Active Requests, Waitlist) on a fixed-width canvas. Pure geometry: the React view draws
 * from it, the handoff layer animates between two of them, and tests check it without a browser.
 */
import type { WorkflowTag } from '../../shared/events';

/** The diagram's width in SVG units; the view scales it to the space it gets. */
export const DIAGRAM_WIDTH = 840;
/** Diameter of a request circle; a token diamond is drawn a little smaller inside it. */
export const ITEM = 40;
/** Distance between the centres of two neighbouring items. */
export const PITCH = 49;
/** Shapes drawn per column at most; the rest is counted ("+N more"), which keeps frames cheap. */
export const MAX_DRAWN = 40;
/** Where the first row of items sits (below the column titles). */
export const FIRST_ROW_Y = 86;
/** The title baseline of each column. */
export const TITLE_Y = 40;

/**
 * A key with Workflow steps among its requests is laid out wider apart, with room under each
 * circle for two caption lines (step name, run id), and so draws fewer per column.
 */
export const CAPTIONED_PITCH_X = 92;
export const CAPTIONED_PITCH_Y = 80;
export const CAPTIONED_MAX_DRAWN = 12;
/** Baselines of the two caption lines, below an item's centre. */
export const CAPTION_DY = [ITEM / 2 + 16, ITEM / 2 + 31] as const;

/** How far apart items sit, and how many a column draws. */
export interface Grid {
  pitchX: number;
  pitchY: number;
  maxDrawn: number;
  /** Rows centred in their column (so the outer captions stay inside it), else from its left. */
  centred: boolean;
}
const PLAIN: Grid = { pitchX: PITCH, pitchY: PITCH, maxDrawn: MAX_DRAWN, centred: false };
const CAPTIONED: Grid = {
  pitchX: CAPTIONED_PITCH_X,
  pitchY: CAPTIONED_PITCH_Y,
  maxDrawn: CAPTIONED_MAX_DRAWN,
  centred: true,
};

const PAD = 16;
/** Room under the first row for the docs' "No available token" arrow and its red circle. */
const MIN_HEIGHT = 250;

export interface Point {
  x: number;
  y: number;
}

export interface Column {
  title: 'Parallelism Tokens' | 'Active Requests' | 'Waitlist';
  x0: number;
  x1: number;
  cx: number;
}

export interface PlacedToken extends Point {
  /** 1-based token number. */
  token: number;
}

export interface PlacedActive extends Point {
  messageId: string;
  token: number;
  /** The Workflow step it is, when it is one. */
  workflow?: WorkflowTag;
}

export interface PlacedWaiter extends Point {
  messageId: string;
  /** 1-based place in the waitlist. */
  position: number;
  workflow?: WorkflowTag;
}

export interface KeyLayout {
  width: number;
  /** The key's parallelism (null: no tokens are drawn, so none can travel). */
  parallelism: number | null;
  height: number;
  /** Some request is a Workflow step: items sit wider apart, with room for their captions. */
  captioned: boolean;
  columns: readonly [Column, Column, Column];
  /** Free tokens, lowest number first. */
  tokens: PlacedToken[];
  /** Free tokens not drawn. */
  tokensMore: number;
  /** Active requests in token order. */
  active: PlacedActive[];
  activeMore: number;
  waiters: PlacedWaiter[];
  /** Waiters not drawn (past the grid's most, or past the ones the client knows). */
  waitersMore: number;
  /** Where the "+N more" note of each column goes. */
  more: { tokens: Point; active: Point; waiters: Point };
  /** The docs' "No available token" sketch: the refused request and the arrow's two ends. */
  arrival: { circle: Point; arrowFrom: Point; arrowTo: Point; label: Point };
}

/** What the layout needs of a key (a subset of the store's KeyView). */
export interface LayoutInput {
  parallelism: number | null;
  active: ReadonlyArray<{ messageId: string; token: number }>;
  waiting: ReadonlyArray<{ messageId: string }>;
  waitListSize: number;
  /** The Workflow step of each message that is one, by id (the store's `workflows`). */
  steps?: Readonly<Record<string, WorkflowTag>>;
}

/** Items that fit on one row of a column. */
export function perRow(width = DIAGRAM_WIDTH, pitchX = PITCH): number {
  return Math.max(1, Math.floor((width / 3 - 2 * PAD + (pitchX - ITEM)) / pitchX));
}

/** The centre of the `index`-th item (0-based) of a column, filling rows left to right. */
export function slot(column: Column, index: number, width = DIAGRAM_WIDTH, grid = PLAIN): Point {
  const n = perRow(width, grid.pitchX);
  const first = grid.centred ? (width / 3 - (n - 1) * grid.pitchX) / 2 : PAD + ITEM / 2;
  return {
    x: column.x0 + first + (index % n) * grid.pitchX,
    y: FIRST_ROW_Y + Math.floor(index / n) * grid.pitchY,
  };
}

function rows(count: number, width: number, grid: Grid): number {
  return Math.ceil(Math.min(count, grid.maxDrawn) / perRow(width, grid.pitchX));
}

/** The token numbers no active request holds, lowest first. */
export function freeTokens(
  parallelism: number | null,
  active: ReadonlyArray<{ token: number }>,
): number[] {
  if (parallelism === null) return [];
  const held = new Set(active.map((a) => a.token));
  const free: number[] = [];
  for (let n = 1; n <= parallelism; n++) if (!held.has(n)) free.push(n);
  return free;
}

/** Lays out one key. Active requests are drawn in token order, so a handoff keeps its place. */
export function keyLayout(input: LayoutInput, width = DIAGRAM_WIDTH): KeyLayout {
  const third = width / 3;
  const column = (i: 0 | 1 | 2, title: Column['title']): Column => ({
    title,
    x0: i * third,
    x1: (i + 1) * third,
    cx: i * third + third / 2,
  });
  const columns = [
    column(0, 'Parallelism Tokens'),
    column(1, 'Active Requests'),
    column(2, 'Waitlist'),
  ] as const;
  const [tokCol, actCol, waitCol] = columns;

  const steps = input.steps ?? {};
  const stepOf = (id: string) => (Object.hasOwn(steps, id) ? steps[id] : undefined);
  // Decided on every listed request, not the drawn ones, so the grid does not change as a step
  // moves up the waitlist into view.
  const captioned =
    input.active.some((a) => stepOf(a.messageId) !== undefined) ||
    input.waiting.some((w) => stepOf(w.messageId) !== undefined);
  const grid = captioned ? CAPTIONED : PLAIN;
  const tagged = <T extends { messageId: string }>(item: T): T & { workflow?: WorkflowTag } => {
    const workflow = stepOf(item.messageId);
    return workflow === undefined ? item : { ...item, workflow };
  };

  const free = freeTokens(input.parallelism, input.active);
  const tokens = free
    .slice(0, grid.maxDrawn)
    .map((token, i) => ({ token, ...slot(tokCol, i, width, grid) }));
  const sorted = [...input.active].sort((a, b) => a.token - b.token);
  const active = sorted
    .slice(0, grid.maxDrawn)
    .map((a, i) =>
      tagged({ messageId: a.messageId, token: a.token, ...slot(actCol, i, width, grid) }),
    );
  const waiters = input.waiting
    .slice(0, grid.maxDrawn)
    .map((w, i) =>
      tagged({ messageId: w.messageId, position: i + 1, ...slot(waitCol, i, width, grid) }),
    );

  const maxRows = Math.max(
    1,
    rows(free.length, width, grid),
    rows(sorted.length, width, grid),
    rows(input.waiting.length, width, grid),
  );
  const lastRowY = FIRST_ROW_Y + (maxRows - 1) * grid.pitchY;
  const moreY = lastRowY + (captioned ? CAPTION_DY[1] + 24 : ITEM / 2 + 26);
  const height = Math.max(MIN_HEIGHT, moreY + 28);

  // The docs draw the refused request under the empty token column, its arrow pointing up at
  // where a token would be, and the words to the arrow's right.
  const arrowX = tokCol.cx - 40;
  const arrowTo = { x: arrowX, y: FIRST_ROW_Y - 8 };
  const circle = { x: arrowX, y: Math.max(FIRST_ROW_Y + 120, height - 44) };
  return {
    width,
    parallelism: input.parallelism,
    height,
    captioned,
    columns,
    tokens,
    tokensMore: free.length - tokens.length,
    active,
    activeMore: sorted.length - active.length,
    waiters,
    waitersMore: Math.max(0, input.waitListSize - waiters.length),
    more: {
      tokens: { x: tokCol.cx, y: moreY },
      active: { x: actCol.cx, y: moreY },
      waiters: { x: waitCol.cx, y: moreY },
    },
    arrival: {
      circle,
      arrowFrom: { x: arrowX, y: circle.y - ITEM / 2 - 2 },
      arrowTo,
      label: { x: arrowX + 16, y: (arrowTo.y + circle.y) / 2 },
    },
  };
}

/** A place in the diagram, under one column's items, where a tip covers none of them. */
export interface TipArea {
  /** The column's left and right edges, inset so the tip stays inside it. */
  x0: number;
  x1: number;
  /** Below the column's last drawn row (captions and focus ring included) and its "+N more". */
  y: number;
}

/** Room between a tip and what it must not cover. */
const TIP_GAP = 8;

/**
 * Where the tip of one of a column's items goes: under everything the column draws, inside the
 * column, so it covers no token, no active request and no waiter, however many rows each column
 * has (a tip beside or below its item would cover the next row, or the neighbouring column).
 */
export function tipArea(layout: KeyLayout, list: 'tokens' | 'active' | 'waiters'): TipArea {
  const i = list === 'tokens' ? 0 : list === 'active' ? 1 : 2;
  const column = layout.columns[i];
  const items: readonly Point[] = layout[list];
  const more =
    list === 'tokens'
      ? layout.tokensMore
      : list === 'active'
        ? layout.activeMore
        : layout.waitersMore;
  const under = layout.captioned ? CAPTION_DY[1] + 6 : ITEM / 2 + 5;
  let y = FIRST_ROW_Y + under;
  for (const item of items) y = Math.max(y, item.y + under);
  // The note's baseline is at `more.y`; its letters' descent goes a little further.
  if (more > 0) y = Math.max(y, layout.more[list].y + 6);
  return { x0: column.x0 + PAD / 2, x1: column.x1 - PAD / 2, y: y + TIP_GAP };
}
