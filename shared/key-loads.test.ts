import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from './events';
import { FlowEngine } from './engine/engine';
import { Handles } from './engine/testing/handles';
import { keyId, messageId, ms, type KeyId } from './engine/units';
import { KeyLoads } from './key-loads';

type Op =
  | { op: 'publish'; key: 'a' | 'b'; parallelism: number; rate: boolean; delayMs: number | null }
  | { op: 'finish'; ok: boolean }
  | { op: 'advance'; by: number }
  | { op: 'pause' | 'resume'; key: 'a' | 'b' }
  | { op: 'cancel'; pick: number }
  | { op: 'global'; parallelism: number | null };
const key = fc.constantFrom<'a' | 'b'>('a', 'b');
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('publish' as const),
    key,
    parallelism: fc.integer({ min: 1, max: 3 }),
    rate: fc.boolean(),
    delayMs: fc.option(fc.integer({ min: 1, max: 3000 })),
  }),
  fc.record({ op: fc.constant('finish' as const), ok: fc.boolean() }),
  // Often none at all, so commands share a millisecond.
  fc.record({
    op: fc.constant('advance' as const),
    by: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 })),
  }),
  fc.record({ op: fc.constantFrom('pause' as const, 'resume' as const), key }),
  fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }),
  fc.record({
    op: fc.constant('global' as const),
    parallelism: fc.option(fc.integer({ min: 1, max: 3 })),
  }),
);

describe('KeyLoads', () => {
  it('follows every key’s counts from the events, reading the store only when they cannot tell', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const engine = new FlowEngine();
        const handles = new Handles(engine);
        let now = 1_000_000;
        let n = 0;
        const running: string[] = [];
        let reads = 0;
        const loads = new KeyLoads((k) => {
          reads++;
          return engine.getKey(k, ms(now), 0);
        });
        let cancels = 0;
        const seen = new Set<KeyId>();
        for (const o of ops) {
          let events: EngineEvent[] = [];
          switch (o.op) {
            case 'publish':
              events = handles.publish(
                {
                  id: messageId(`msg_${++n}`),
                  key: keyId(o.key),
                  config: { parallelism: o.parallelism, ...(o.rate ? { rate: 2 } : {}) },
                  retries: 1,
                  ...(o.delayMs !== null ? { notBefore: ms(now + o.delayMs) } : {}),
                },
                ms(now),
              );
              break;
            case 'finish': {
              const id = running.shift();
              if (id !== undefined)
                events = handles.finish(id, o.ok ? { ok: true } : { ok: false }, ms(now));
              break;
            }
            case 'advance':
              now += o.by;
              events = engine.tick(ms(now));
              break;
            case 'pause':
              events = engine.pause(keyId(o.key), ms(now));
              break;
            case 'resume':
              events = engine.resume(keyId(o.key), ms(now));
              break;
            case 'cancel':
              if (n > 0) {
                events = handles.cancel(`msg_${(o.pick % n) + 1}`, ms(now));
                cancels++;
              }
              break;
            case 'global':
              events = engine.setGlobalParallelism(o.parallelism, ms(now));
              break;
          }
          for (const e of events) {
            if (e.type === 'token:acquired') running.push(e.messageId);
            if (e.type === 'token:handed-off') running.push(e.to);
          }
          loads.apply(events);
          for (const k of new Set(events.map((e) => e.key))) {
            if (k !== '$') seen.add(k);
            const truth = engine.getKey(k, ms(now), 0);
            const mine = loads.load(k);
            if (truth === undefined) {
              expect(mine).toBeUndefined();
              continue;
            }
            expect({
              inFlight: mine?.inFlight,
              waitListSize: mine?.waitListSize,
              parallelism: mine?.parallelism,
            }).toEqual({
              inFlight: truth.inFlight,
              waitListSize: truth.waitListSize,
              parallelism: truth.parallelism,
            });
          }
        }
        // Once per key, once per cancellation, and for the global pseudo-key's changes.
        const globals = ops.filter((o) => o.op === 'global').length;
        expect(reads).toBeLessThanOrEqual(seen.size + cancels + globals);
      }),
      { numRuns: 500 },
    );
  });
});
