import { describe, expect, it } from 'vitest';
import { keyLayout, type LayoutInput } from './key-layout';
import { MAX_MOVES, planMoves } from './handoff-plan';

const key = (active: Array<[string, number]>, waiting: string[], parallelism = 3): LayoutInput => ({
  parallelism,
  active: active.map(([messageId, token]) => ({ messageId, token })),
  waiting: waiting.map((messageId) => ({ messageId })),
  waitListSize: waiting.length,
});

describe('planMoves', () => {
  it('sends the finished request’s token to the waiter that receives it, and back to the slot', () => {
    const before = keyLayout(
      key(
        [
          ['a', 1],
          ['b', 2],
        ],
        ['c', 'd'],
        2,
      ),
    );
    const after = keyLayout(
      key(
        [
          ['c', 1],
          ['b', 2],
        ],
        ['d'],
        2,
      ),
    );
    const [move, ...rest] = planMoves(before, after, [
      { type: 'delivery:succeeded' },
      { type: 'token:handed-off', from: 'a', to: 'c' },
    ]);
    expect(rest).toEqual([]);
    expect(move).toMatchObject({ kind: 'handoff', token: 1, fromId: 'a', toId: 'c' });
    if (move?.kind !== 'handoff') throw new Error('expected a handoff');
    expect(move.from).toEqual({ x: before.active[0]!.x, y: before.active[0]!.y });
    expect(move.via).toEqual({ x: before.waiters[0]!.x, y: before.waiters[0]!.y });
    expect(move.to).toEqual({ x: after.active[0]!.x, y: after.active[0]!.y });
  });

  it('moves a taken token from the token column and a released one back to it', () => {
    const before = keyLayout(key([], []));
    const mid = keyLayout(key([['a', 1]], []));
    expect(planMoves(before, mid, [{ type: 'token:acquired', messageId: 'a' }])).toEqual([
      expect.objectContaining({
        kind: 'acquire',
        token: 1,
        from: { x: before.tokens[0]!.x, y: before.tokens[0]!.y },
        to: { x: mid.active[0]!.x, y: mid.active[0]!.y },
      }),
    ]);
    expect(planMoves(mid, before, [{ type: 'token:released', messageId: 'a' }])).toEqual([
      expect.objectContaining({
        kind: 'release',
        token: 1,
        to: { x: before.tokens[0]!.x, y: before.tokens[0]!.y },
      }),
    ]);
  });

  it('coalesces a start and finish inside one frame into nothing', () => {
    const idle = keyLayout(key([], []));
    expect(
      planMoves(idle, idle, [
        { type: 'token:acquired', messageId: 'a' },
        { type: 'token:released', messageId: 'a' },
      ]),
    ).toEqual([]);
  });

  it('keeps only the last movement of a token in a frame', () => {
    const before = keyLayout(key([['a', 1]], ['b', 'c'], 1));
    const after = keyLayout(key([['c', 1]], [], 1));
    const moves = planMoves(before, after, [
      { type: 'token:handed-off', from: 'a', to: 'b' },
      { type: 'token:handed-off', from: 'b', to: 'c' },
    ]);
    // b was never drawn active, so only nothing or a move ending at c may show.
    for (const m of moves) expect(m).toMatchObject({ token: 1 });
    expect(moves.length).toBeLessThanOrEqual(1);
  });

  it('moves nothing for a key without parallelism: it has no tokens', () => {
    const before = keyLayout(key([], [], 3));
    const after = keyLayout({ ...key([['a', 1]], []), parallelism: null });
    expect(planMoves(before, after, [{ type: 'token:acquired', messageId: 'a' }])).toEqual([]);
  });

  it('skips a frame with more movements than it can show clearly', () => {
    const n = MAX_MOVES + 1;
    const before = keyLayout(key([], [], n));
    const after = keyLayout(
      key(
        Array.from({ length: n }, (_, i) => [`m${i}`, i + 1]),
        [],
        n,
      ),
    );
    const events = Array.from({ length: n }, (_, i) => ({
      type: 'token:acquired',
      messageId: `m${i}`,
    }));
    expect(planMoves(before, after, events)).toEqual([]);
    expect(planMoves(null, after, events)).toEqual([]);
  });
});
