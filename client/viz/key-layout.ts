/**
 * Where each shape of a key's parallelism diagram goes: the docs' three columns (Parallelism
 * Tokens, Active Requests, Waitlist) on a fixed-width canvas. Pure geometry: the React view draws
 * from it, the handoff layer animates between two of them, and tests check it without a browser.
 */

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
}

export interface PlacedWaiter extends Point {
  messageId: string;
  /** 1-based place in the waitlist. */
  position: number;
}

export interface KeyLayout {
  width: number;
  /** The key's parallelism (null: no tokens are drawn, so none can travel). */
  parallelism: number | null;
  height: number;
  columns: readonly [Column, Column, Column];
  /** Free tokens, lowest number first. */
  tokens: PlacedToken[];
  /** Free tokens not drawn. */
  tokensMore: number;
  /** Active requests in token order. */
  active: PlacedActive[];
  activeMore: number;
  waiters: PlacedWaiter[];
  /** Waiters not drawn (past MAX_DRAWN, or past the ones the client knows). */
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
}

/** Items that fit on one row of a column. */
export function perRow(width = DIAGRAM_WIDTH): number {
  return Math.max(1, Math.floor((width / 3 - 2 * PAD + (PITCH - ITEM)) / PITCH));
}

/** The centre of the `index`-th item (0-based) of a column, filling rows left to right. */
export function slot(column: Column, index: number, width = DIAGRAM_WIDTH): Point {
  const n = perRow(width);
  return {
    x: column.x0 + PAD + ITEM / 2 + (index % n) * PITCH,
    y: FIRST_ROW_Y + Math.floor(index / n) * PITCH,
  };
}

function rows(count: number, width: number): number {
  return Math.ceil(Math.min(count, MAX_DRAWN) / perRow(width));
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

  const free = freeTokens(input.parallelism, input.active);
  const tokens = free.slice(0, MAX_DRAWN).map((token, i) => ({ token, ...slot(tokCol, i, width) }));
  const sorted = [...input.active].sort((a, b) => a.token - b.token);
  const active = sorted
    .slice(0, MAX_DRAWN)
    .map((a, i) => ({ messageId: a.messageId, token: a.token, ...slot(actCol, i, width) }));
  const waiters = input.waiting
    .slice(0, MAX_DRAWN)
    .map((w, i) => ({ messageId: w.messageId, position: i + 1, ...slot(waitCol, i, width) }));

  const maxRows = Math.max(
    1,
    rows(free.length, width),
    rows(sorted.length, width),
    rows(input.waiting.length, width),
  );
  const lastRowY = FIRST_ROW_Y + (maxRows - 1) * PITCH;
  const moreY = lastRowY + ITEM / 2 + 26;
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
