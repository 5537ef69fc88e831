import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../shared/events';
import { ms } from '../../shared/engine/units';
import { RecentActivity } from '../../shared/recent-activity';
import { createAppStore } from './app-store';
import { engineHarness } from './engine-harness';

type Op =
  | { op: 'publish'; key: 'a' | 'b'; parallelism: number; delayMs: number | null }
  | { op: 'finish'; ok: boolean }
  | { op: 'advance'; by: number }
  | { op: 'pause' | 'resume'; key: 'a' | 'b' }
  | { op: 'cancel'; pick: number }
  | { op: 'cut' }
  | { op: 'open' };
const key = fc.constantFrom<'a' | 'b'>('a', 'b');
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constant('publish' as const),
      key,
      parallelism: fc.integer({ min: 1, max: 3 }),
      delayMs: fc.option(fc.integer({ min: 1, max: 3000 })),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ op: fc.constant('finish' as const), ok: fc.boolean() }), weight: 3 },
  // Mostly less than a bucket, so runs of several commands share one.
  {
    arbitrary: fc.record({
      op: fc.constant('advance' as const),
      by: fc.oneof(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 20_000 })),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ op: fc.constantFrom('pause' as const, 'resume' as const), key }),
    weight: 1,
  },
  { arbitrary: fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('cut' as const) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('open' as const) }), weight: 1 },
);

describe('the history a page records, against the server’s', () => {
  it('is the same, however the events were batched, and for a page opened midway', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const h = engineHarness();
        // The server records each command's events as they come (reading the engine's key
        // right after them, when it must).
        const server = new RecentActivity((k) => h.engine.getKey(k, ms(0), 0));
        const record = (events: EngineEvent[]) => server.record(events);
        const pages = [createAppStore()];
        pages[0]!.getState().snapshotReceived(h.snapshot(), 0);
        let batch: EngineEvent[] = [];
        const deliver = () => {
          for (const page of pages) page.getState().eventsReceived(batch, 0);
          batch = [];
        };
        for (const o of ops) {
          let events: EngineEvent[] = [];
          switch (o.op) {
            case 'publish':
              events = h.publish(o.key, o.parallelism, {
                retries: 1,
                ...(o.delayMs !== null ? { delayMs: o.delayMs } : {}),
              });
              break;
            case 'finish':
              events = h.inFlight.size === 0 ? [] : h.finish(h.oldestInFlight(), o.ok);
              break;
            case 'advance':
              events = h.advance(o.by);
              break;
            case 'pause':
              events = h.pause(o.key);
              break;
            case 'resume':
              events = h.resume(o.key);
              break;
            case 'cancel':
              events = h.cancel(o.pick);
              break;
            case 'cut':
              deliver();
              break;
            case 'open': {
              deliver();
              const page = createAppStore();
              const snap = h.snapshot();
              page.getState().snapshotReceived({ ...snap, history: server.history(snap.at) }, 0);
              pages.push(page);
              break;
            }
          }
          if (events.length > 0) record(events);
          batch.push(...events);
        }
        deliver();
        const now = h.snapshot().at;
        const truth = server.history(now);
        const held = new Set(truth.map((w) => w.key as string));
        const firstAt = new Map(truth.map((w) => [w.key as string, w.points[0]]));
        for (const page of pages) {
          // A key the engine made without an event (a resume) is drawn from the snapshot on: a
          // page opened then holds a point from before the server's first (the server saw no
          // event of the key until later). From the server's first point on, they must agree.
          const mine = page
            .getState()
            .histories.toWire(now)
            .filter((w) => held.has(w.key))
            .map((w) => ({ ...w, points: fromFirst(w.points, firstAt.get(w.key)) }));
          expect(mine).toEqual(truth);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * Wire points (four numbers each: time, in flight, waiting, limit; each time after the one
 * before, the first absolute) from absolute time `t` on, coded the same way: the point in force
 * at `t` (its time made `t`), then the later ones.
 */
function fromFirst(points: readonly number[], t: number | undefined): number[] {
  if (t === undefined) return [...points];
  const decoded: number[][] = [];
  let at = 0;
  for (let i = 0; i < points.length; i += 4) {
    at += points[i]!;
    decoded.push([at, points[i + 1]!, points[i + 2]!, points[i + 3]!]);
  }
  const inForce = decoded.findLastIndex((p) => p[0]! <= t);
  const kept = decoded.slice(Math.max(0, inForce));
  if (inForce >= 0) kept[0] = [t, ...kept[0]!.slice(1)];
  let prev = 0;
  return kept.flatMap(([time, ...rest]) => {
    const delta = time! - prev;
    prev = time!;
    return [delta, ...rest];
  });
}
