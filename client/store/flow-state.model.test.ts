import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../shared/events';
import { engineHarness } from './engine-harness';
import { applyEvents, fromSnapshot, type KeyView } from './flow-state';

const ids = (xs: ReadonlyArray<{ messageId: string }>) => xs.map((x) => x.messageId);

/** What must agree between the live view and a fresh snapshot (rate views depend on `now`). */
function comparable(k: KeyView) {
  return {
    parallelism: k.parallelism,
    paused: k.paused,
    inFlight: k.inFlight,
    waitListSize: k.waitListSize,
    scheduled: k.scheduled,
    active: ids(k.active).sort(),
    waiting: ids(k.waiting),
  };
}

/** A key with nothing configured, running or waiting. */
const idle = {
  parallelism: null,
  paused: false,
  inFlight: 0,
  waitListSize: 0,
  scheduled: 0,
  active: [],
  waiting: [],
};

describe('the live view, against the engine', () => {
  type Op =
    | { op: 'publish'; key: 'a' | 'b'; parallelism: number; delayMs: number | null }
    | { op: 'finish'; ok: boolean }
    | { op: 'advance'; by: number }
    | { op: 'pause' | 'resume'; key: 'a' | 'b' }
    | { op: 'cancel'; pick: number }
    | { op: 'cut' };
  const key = fc.constantFrom<'a' | 'b'>('a', 'b');
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      op: fc.constant('publish' as const),
      key,
      parallelism: fc.integer({ min: 1, max: 3 }),
      delayMs: fc.option(fc.integer({ min: 1, max: 3000 })),
    }),
    fc.record({ op: fc.constant('finish' as const), ok: fc.boolean() }),
    fc.record({ op: fc.constant('advance' as const), by: fc.integer({ min: 1, max: 30_000 }) }),
    fc.record({ op: fc.constantFrom('pause' as const, 'resume' as const), key }),
    fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }),
    fc.record({ op: fc.constant('cut' as const) }),
  );

  it('ends where a fresh snapshot is, after any run of commands and batch cuts', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 25 }),
        fc.array(op, { maxLength: 60 }),
        fc.constantFrom<'fifo' | 'random'>('fifo', 'random'),
        (before, after, policy) => {
          const h = engineHarness(policy);
          const run = (o: Op): EngineEvent[] => {
            switch (o.op) {
              case 'publish':
                return h.publish(o.key, o.parallelism, {
                  retries: 1,
                  ...(o.delayMs !== null ? { delayMs: o.delayMs } : {}),
                });
              case 'finish':
                return h.inFlight.size === 0 ? [] : h.finish(h.oldestInFlight(), o.ok);
              case 'advance':
                return h.advance(o.by);
              case 'pause':
                return h.pause(o.key);
              case 'resume':
                return h.resume(o.key);
              case 'cancel':
                return h.cancel(o.pick);
              case 'cut':
                return [];
            }
          };
          before.forEach(run);
          let s = fromSnapshot(h.snapshot());
          let batch: EngineEvent[] = [];
          for (const o of after) {
            batch.push(...run(o));
            if (o.op === 'cut') {
              s = applyEvents(s, batch).state;
              batch = [];
            }
          }
          s = applyEvents(s, batch).state;
          const truth = fromSnapshot(h.snapshot());
          expect(s.seq).toBe(truth.seq);
          expect(s.stats).toEqual(truth.stats);
          expect(s.globalInFlight).toBe(truth.globalInFlight);
          for (const [name, real] of Object.entries(truth.keys)) {
            const mine = s.keys[name];
            if (mine === undefined) {
              // The engine creates a key on resume without an event; such a key holds nothing.
              expect(comparable(real)).toEqual(comparable({ ...real, ...idle }));
              continue;
            }
            expect(comparable(mine)).toEqual(comparable(real));
            const tokens = s.keys[name]!.active.map((a) => a.token);
            expect(new Set(tokens).size).toBe(tokens.length);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
