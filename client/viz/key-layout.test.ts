import { describe, expect, it } from 'vitest';
import {
  CAPTIONED_MAX_DRAWN,
  CAPTIONED_PITCH_X,
  CAPTION_DY,
  DIAGRAM_WIDTH,
  ITEM,
  MAX_DRAWN,
  PITCH,
  freeTokens,
  keyLayout,
  perRow,
  slot,
  tipArea,
  type KeyLayout,
  type TipArea,
} from './key-layout';

const active = (...tokens: number[]) => tokens.map((token) => ({ messageId: `a${token}`, token }));
const waiting = (n: number) => Array.from({ length: n }, (_, i) => ({ messageId: `w${i + 1}` }));

describe('keyLayout', () => {
  it('puts each list in its own column, titled as the docs title them', () => {
    const l = keyLayout({
      parallelism: 3,
      active: active(1),
      waiting: waiting(0),
      waitListSize: 0,
    });
    expect(l.columns.map((c) => c.title)).toEqual([
      'Parallelism Tokens',
      'Active Requests',
      'Waitlist',
    ]);
    const [tokens, act] = l.columns;
    expect(l.tokens.map((t) => t.token)).toEqual([2, 3]);
    for (const t of l.tokens) expect(t.x).toBeGreaterThan(tokens.x0);
    for (const t of l.tokens) expect(t.x).toBeLessThan(tokens.x1);
    expect(l.active[0]!.x).toBeGreaterThan(act.x0);
    expect(l.active[0]!.x).toBeLessThan(act.x1);
  });

  it('draws active requests in token order, so a handoff keeps the slot', () => {
    const l = keyLayout({
      parallelism: 3,
      active: [
        { messageId: 'c', token: 3 },
        { messageId: 'a', token: 1 },
      ],
      waiting: [],
      waitListSize: 0,
    });
    expect(l.active.map((a) => a.messageId)).toEqual(['a', 'c']);
    const handedOff = keyLayout({
      parallelism: 3,
      active: [
        { messageId: 'c', token: 3 },
        { messageId: 'b', token: 1 },
      ],
      waiting: [],
      waitListSize: 0,
    });
    expect({ x: handedOff.active[0]!.x, y: handedOff.active[0]!.y }).toEqual({
      x: l.active[0]!.x,
      y: l.active[0]!.y,
    });
  });

  it('numbers waiters in order and wraps them into rows that fit the column', () => {
    const n = perRow();
    const l = keyLayout({
      parallelism: 1,
      active: active(1),
      waiting: waiting(n + 1),
      waitListSize: n + 1,
    });
    expect(l.waiters.map((w) => w.position)).toEqual(
      Array.from({ length: n + 1 }, (_, i) => i + 1),
    );
    const [first, second] = [l.waiters[0]!, l.waiters[n]!];
    expect(second.x).toBe(first.x);
    expect(second.y).toBeGreaterThan(first.y);
    for (const w of l.waiters) expect(w.x).toBeLessThan(DIAGRAM_WIDTH);
  });

  it('draws at most MAX_DRAWN per column and counts the rest, including unknown waiters', () => {
    const l = keyLayout({
      parallelism: 100,
      active: [],
      waiting: waiting(60),
      waitListSize: 250,
    });
    expect(l.tokens).toHaveLength(MAX_DRAWN);
    expect(l.tokensMore).toBe(60);
    expect(l.waiters).toHaveLength(MAX_DRAWN);
    expect(l.waitersMore).toBe(210);
    expect(l.more.waiters.y).toBeGreaterThan(l.waiters[MAX_DRAWN - 1]!.y);
    expect(l.height).toBeGreaterThan(l.more.waiters.y);
  });

  it('leaves room under the token row for the refused request and its arrow', () => {
    const l = keyLayout({
      parallelism: 1,
      active: active(1),
      waiting: waiting(1),
      waitListSize: 1,
    });
    const { circle, arrowFrom, arrowTo, label } = l.arrival;
    expect(arrowTo.y).toBeLessThan(arrowFrom.y);
    expect(arrowFrom.y).toBeLessThan(circle.y);
    expect(circle.y).toBeLessThan(l.height);
    expect(label.x).toBeGreaterThan(arrowTo.x);
    expect(arrowTo.x).toBeLessThan(l.columns[0].x1);
  });

  it('has no tokens without a parallelism limit', () => {
    expect(freeTokens(null, [])).toEqual([]);
    expect(
      keyLayout({ parallelism: null, active: active(1), waiting: [], waitListSize: 0 }).tokens,
    ).toEqual([]);
  });
});

describe('keyLayout with Workflow steps', () => {
  const init = { runId: 'wfr_1', step: 'init' };
  const input = (steps: Record<string, typeof init>) => ({
    parallelism: 3,
    active: active(1, 2, 3),
    waiting: waiting(20),
    waitListSize: 20,
    steps,
  });

  it('lays a key with no step out exactly as before', () => {
    const { steps: _steps, ...plain } = input({});
    expect(keyLayout(input({ elsewhere: init }))).toEqual(keyLayout(plain));
    expect(keyLayout(plain).captioned).toBe(false);
  });

  it('tags the steps and spaces every item for a two-line caption', () => {
    const l = keyLayout(input({ a2: init, w3: init }));
    expect(l.captioned).toBe(true);
    expect(l.active.map((a) => a.workflow)).toEqual([undefined, init, undefined]);
    expect(l.waiters[2]!.workflow).toBe(init);
    expect(l.waiters[0]).not.toHaveProperty('workflow');
    const n = perRow(DIAGRAM_WIDTH, CAPTIONED_PITCH_X);
    expect(n).toBeGreaterThan(1);
    const [a, b] = l.active;
    expect(b!.x - a!.x).toBe(CAPTIONED_PITCH_X);
    // A caption (its slot's width) stays inside its column.
    const waitCol = l.columns[2];
    for (const w of l.waiters) {
      expect(w.x - CAPTIONED_PITCH_X / 2).toBeGreaterThanOrEqual(waitCol.x0);
      expect(w.x + CAPTIONED_PITCH_X / 2).toBeLessThanOrEqual(waitCol.x1);
    }
    // The next row starts below the caption of the one above.
    const below = l.waiters[n]!;
    expect(below.y - ITEM / 2).toBeGreaterThan(l.waiters[0]!.y + CAPTION_DY[1]);
    expect(CAPTIONED_PITCH_X).toBeGreaterThan(PITCH);
  });

  it('draws fewer per column, counting the rest below the captions', () => {
    const l = keyLayout(input({ w1: init }));
    expect(l.waiters).toHaveLength(CAPTIONED_MAX_DRAWN);
    expect(l.waitersMore).toBe(20 - CAPTIONED_MAX_DRAWN);
    expect(l.more.waiters.y).toBeGreaterThan(l.waiters.at(-1)!.y + CAPTION_DY[1]);
    expect(l.height).toBeGreaterThan(l.more.waiters.y);
  });
});

describe('slot', () => {
  it('fills a row left to right, then the next', () => {
    const column = { title: 'Waitlist' as const, x0: 0, x1: 280, cx: 140 };
    const n = perRow();
    expect(slot(column, 1).x).toBeGreaterThan(slot(column, 0).x);
    expect(slot(column, n).y).toBeGreaterThan(slot(column, n - 1).y);
  });
});

describe('tipArea', () => {
  /** Whether a tip anywhere in `area` (any height) would cover the item at `p`. */
  const covers = (area: TipArea, p: { x: number; y: number }) =>
    p.x + ITEM / 2 > area.x0 && p.x - ITEM / 2 < area.x1 && p.y + ITEM / 2 > area.y;
  const everyItem = (l: KeyLayout) => [...l.tokens, ...l.active, ...l.waiters];

  it("puts a waiter's tip under the waitlist's rows, clear of every item", () => {
    // Parallelism 3 and 8 waiters: two rows of waiters, one row of active requests.
    const l = keyLayout({
      parallelism: 3,
      active: active(1, 2, 3),
      waiting: waiting(8),
      waitListSize: 8,
    });
    const area = tipArea(l, 'waiters');
    expect(l.waiters.at(-1)!.y).toBeGreaterThan(l.waiters[0]!.y);
    expect(area.y).toBeGreaterThan(l.waiters.at(-1)!.y + ITEM / 2);
    expect(area.x0).toBeGreaterThanOrEqual(l.columns[2].x0);
    expect(area.x1).toBeLessThanOrEqual(l.columns[2].x1);
    expect(everyItem(l).filter((p) => covers(area, p))).toEqual([]);
  });

  it('keeps each column\'s tip inside that column, under its last row and "+N more" note', () => {
    const l = keyLayout({
      parallelism: 30,
      active: active(...Array.from({ length: 22 }, (_, i) => i + 1)),
      waiting: waiting(60),
      waitListSize: 250,
    });
    for (const [list, i] of [
      ['tokens', 0],
      ['active', 1],
      ['waiters', 2],
    ] as const) {
      const area = tipArea(l, list);
      expect(area.x0).toBeGreaterThanOrEqual(l.columns[i].x0);
      expect(area.x1).toBeLessThanOrEqual(l.columns[i].x1);
      expect(everyItem(l).filter((p) => covers(area, p))).toEqual([]);
    }
    expect(tipArea(l, 'waiters').y).toBeGreaterThan(l.more.waiters.y);
    expect(tipArea(l, 'active').y).toBeGreaterThan(l.active.at(-1)!.y + ITEM / 2);
  });

  it('leaves room for the captions of Workflow steps', () => {
    const l = keyLayout({
      parallelism: 1,
      active: [],
      waiting: waiting(2),
      waitListSize: 2,
      steps: { w1: { runId: 'wfr_1', step: 'init' } },
    });
    expect(tipArea(l, 'waiters').y).toBeGreaterThan(l.waiters[0]!.y + CAPTION_DY[1]);
  });
});
