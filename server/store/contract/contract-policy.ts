/**
 * The handoff policy. The random policy's exact order for a seed is each store's own business (a
 * store may draw from its own source), so the contract holds a store to what any random store must
 * do: the same order for the same seed, different orders for different seeds, serve everyone
 * once, pick only among the oldest `randomWindow` waiters, and keep every waiter within position +
 * window takes.
 */
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../../shared/events';
import type { HandoffPolicy } from '../../../shared/engine/types';
import { cfg, started, type StoreDriver } from './store-driver';
import type { ContractContext } from './contract-context';

interface PolicyOptions {
  policy?: HandoffPolicy;
  seed?: number;
  randomWindow?: number;
}

const fifoOrder = (n: number): string[] => Array.from({ length: n }, (_, i) => `w${i + 1}`);

export function policyContract({ open, withDriver, seeds }: ContractContext): void {
  /**
   * Publishes `n` waiters behind one delivery on a key with one token, then finishes whatever
   * holds the token `n` times; returns the order in which the waiters started.
   */
  const serveOrder = (options: PolicyOptions, n: number): Promise<string[]> =>
    withDriver(options, async (d) => {
      await d.publish('h', { key: 'a', config: cfg({ parallelism: 1 }) });
      await d.publishMany('w', n, { key: 'a' });
      let holder = 'h';
      for (let i = 0; i < n; i++) {
        const [next] = started(await d.at(d.now + 1).finish(holder));
        if (next === undefined) throw new Error('no handoff');
        holder = next;
      }
      return started(d.log).slice(1);
    });

  describe('fifo', () => {
    it('is the default', async () => {
      const d = await open();
      expect((await d.snapshot()).policy).toBe('fifo');
    });

    it('hands the token to the oldest waiter', async () => {
      expect(await serveOrder({}, 12)).toEqual(fifoOrder(12));
      expect(await serveOrder({ policy: 'fifo' }, 12)).toEqual(fifoOrder(12));
    });
  });

  describe('random', () => {
    it('says so in the snapshot', async () => {
      const d = await open({ policy: 'random', seed: 1 });
      expect((await d.snapshot()).policy).toBe('random');
    });

    it('gives the same order for the same seed', async () => {
      const o = { policy: 'random', seed: 42 } as const;
      expect(await serveOrder(o, 30)).toEqual(await serveOrder(o, 30));
    });

    it('differs from fifo, and between seeds', async () => {
      const orders: string[] = [];
      for (const seed of [1, 2, 3, 4, 5])
        orders.push((await serveOrder({ policy: 'random', seed }, 20)).join());
      expect(orders.some((o) => o !== fifoOrder(20).join())).toBe(true);
      expect(new Set(orders).size).toBeGreaterThan(1);
    });

    it('serves every waiter exactly once', async () => {
      const order = await serveOrder({ policy: 'random', seed: 7 }, 40);
      expect([...order].sort()).toEqual([...fifoOrder(40)].sort());
    });

    it('picks only among the randomWindow oldest waiters', async () => {
      for (let seed = 1; seed <= seeds(20); seed++) {
        const order = await serveOrder({ policy: 'random', seed, randomWindow: 3 }, 20);
        const left = fifoOrder(20);
        for (const id of order) {
          expect(left.indexOf(id)).toBeLessThan(3);
          left.splice(left.indexOf(id), 1);
        }
      }
    });

    it('acts as fifo with a window of 1', async () => {
      expect(await serveOrder({ policy: 'random', seed: 9, randomWindow: 1 }, 10)).toEqual(
        fifoOrder(10),
      );
    });

    describe('bounded unfairness', () => {
      /**
       * Runs a busy key under the random policy — waiters keep arriving while tokens free — and
       * returns, for every waiter, how many waiters were taken from the waitlist from the moment
       * it joined until (and including) its own start, next to its position when it joined.
       */
      const takesPerWaiter = (seed: number, randomWindow: number) =>
        withDriver({ policy: 'random', seed, randomWindow }, async (d: StoreDriver) => {
          const joined = new Map<string, { position: number; takes: number }>();
          const out: { id: string; position: number; takes: number }[] = [];
          const c = cfg({ parallelism: 2 });
          let next = 0;
          const observe = (events: EngineEvent[]): void => {
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
          for (let i = 0; i < 12; i++)
            observe(await d.publish(`m${next++}`, { key: 'a', config: c }));
          for (let round = 0; round < 60; round++) {
            const active = await d.active('a');
            const [oldest] = active.sort((x, y) => Number(x.slice(1)) - Number(y.slice(1)));
            if (oldest === undefined) break;
            d.at(d.now + 1);
            observe(await d.finish(oldest));
            // A burst every other round keeps the waitlist longer than the window.
            if (round % 2 === 0)
              for (let j = 0; j < 2; j++) observe(await d.publish(`m${next++}`, { key: 'a' }));
          }
          return out;
        });

      it('serves every waiter within position + randomWindow takes', async () => {
        for (const randomWindow of [2, 3, 8]) {
          for (let seed = 1; seed <= seeds(200); seed++) {
            for (const w of await takesPerWaiter(seed, randomWindow)) {
              if (w.takes > w.position + randomWindow) {
                expect.fail(
                  `seed ${seed}, window ${randomWindow}: ${w.id} joined at position ` +
                    `${w.position} and started after ${w.takes} takes`,
                );
              }
            }
          }
        }
      });

      it('serves a waiter of a still waitlist within position + randomWindow handoffs', async () => {
        for (let seed = 1; seed <= seeds(300); seed++) {
          const order = await serveOrder({ policy: 'random', seed, randomWindow: 8 }, 30);
          order.forEach((id, i) => {
            const position = Number(id.slice(1));
            expect(i + 1, `seed ${seed}: ${id}`).toBeLessThanOrEqual(position + 8);
          });
        }
      });
    });
  });
}
