import { describe, it, expect } from 'vitest';
import { Driver, cfg, started } from './testing/driver';
import type { EngineOptions } from './types';

/**
 * Publishes `n` waiters behind one delivery on a key with one token, then finishes whatever holds the
 * token `n` times; returns the order in which the waiters started.
 */
function serveOrder(options: EngineOptions, n: number): string[] {
  const d = new Driver(options);
  d.publish('h', { key: 'a', config: cfg({ parallelism: 1 }) });
  d.publishMany('w', n, { key: 'a' });
  let holder = 'h';
  for (let i = 0; i < n; i++) {
    const [next] = started(d.at(d.now + 1).finish(holder));
    if (next === undefined) throw new Error('no handoff');
    holder = next;
  }
  return started(d.log).slice(1);
}

const fifoOrder = (n: number): string[] => Array.from({ length: n }, (_, i) => `w${i + 1}`);

describe('FlowEngine handoff policy', () => {
  describe('fifo', () => {
    it('is the default', () => {
      expect(new Driver().engine.policy).toBe('fifo');
    });

    it('hands the token to the oldest waiter', () => {
      expect(serveOrder({}, 12)).toEqual(fifoOrder(12));
    });
  });

  describe('random', () => {
    it('gives the same order for the same seed', () => {
      const o = { policy: 'random', seed: 42 } as const;
      expect(serveOrder(o, 30)).toEqual(serveOrder(o, 30));
    });

    it('differs from fifo, and between seeds', () => {
      const orders = [1, 2, 3, 4, 5].map((seed) =>
        serveOrder({ policy: 'random', seed }, 20).join(),
      );
      expect(orders.some((o) => o !== fifoOrder(20).join())).toBe(true);
      expect(new Set(orders).size).toBeGreaterThan(1);
    });

    it('serves every waiter exactly once', () => {
      const order = serveOrder({ policy: 'random', seed: 7 }, 40);
      expect([...order].sort()).toEqual([...fifoOrder(40)].sort());
    });

    it('picks only among the randomWindow oldest waiters', () => {
      for (let seed = 1; seed <= 20; seed++) {
        const order = serveOrder({ policy: 'random', seed, randomWindow: 3 }, 20);
        const left = fifoOrder(20);
        for (const id of order) {
          expect(left.indexOf(id)).toBeLessThan(3);
          left.splice(left.indexOf(id), 1);
        }
      }
    });

    it('acts as fifo with a window of 1', () => {
      expect(serveOrder({ policy: 'random', seed: 9, randomWindow: 1 }, 10)).toEqual(fifoOrder(10));
    });

    describe('bounded unfairness', () => {
      /**
       * Runs a busy key under the random policy — waiters keep arriving while tokens free — and
       * returns, for every waiter, how many waiters were taken from the waitlist from the moment it
       * joined until (and including) its own start, next to its position when it joined.
       */
      function takesPerWaiter(
        seed: number,
        randomWindow: number,
      ): { id: string; position: number; takes: number }[] {
        const d = new Driver({ policy: 'random', seed, randomWindow });
        const joined = new Map<string, { position: number; takes: number }>();
        const out: { id: string; position: number; takes: number }[] = [];
        const c = cfg({ parallelism: 2 });
        let next = 0;
        const observe = (events: ReturnType<Driver['tick']>): void => {
          for (const e of events) {
            if (e.type === 'message:waitlisted')
              joined.set(e.messageId, { position: e.position, takes: 0 });
            const to =
              e.type === 'token:handed-off'
                ? e.to
                : e.type === 'token:acquired'
                  ? e.messageId
                  : null;
            if (to === null || !joined.has(to)) continue;
            for (const w of joined.values()) w.takes++;
            const me = joined.get(to);
            if (me !== undefined) out.push({ id: to, ...me });
            joined.delete(to);
          }
        };
        for (let i = 0; i < 12; i++) observe(d.publish(`m${next++}`, { key: 'a', config: c }));
        for (let round = 0; round < 60; round++) {
          const [oldest] = d.active('a').sort((x, y) => Number(x.slice(1)) - Number(y.slice(1)));
          if (oldest === undefined) break;
          d.at(d.now + 1);
          observe(d.finish(oldest));
          // A burst every other round keeps the waitlist longer than the window.
          if (round % 2 === 0)
            for (let j = 0; j < 2; j++) observe(d.publish(`m${next++}`, { key: 'a' }));
        }
        return out;
      }

      it('serves every waiter within position + randomWindow takes', () => {
        for (const randomWindow of [2, 3, 8]) {
          for (let seed = 1; seed <= 200; seed++) {
            for (const w of takesPerWaiter(seed, randomWindow)) {
              if (w.takes > w.position + randomWindow) {
                expect.fail(
                  `seed ${seed}, window ${randomWindow}: ${w.id} joined at position ${w.position} ` +
                    `and started after ${w.takes} takes`,
                );
              }
            }
          }
        }
      });

      it('serves a waiter of a still waitlist within position + randomWindow handoffs', () => {
        for (let seed = 1; seed <= 300; seed++) {
          const order = serveOrder({ policy: 'random', seed, randomWindow: 8 }, 30);
          order.forEach((id, i) => {
            const position = Number(id.slice(1));
            expect(i + 1, `seed ${seed}: ${id}`).toBeLessThanOrEqual(position + 8);
          });
        }
      });
    });
  });
});
