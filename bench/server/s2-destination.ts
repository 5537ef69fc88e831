/**
 * S2's destination (s2.ts): a local server that answers every delivery at once and counts, per
 * run, the distinct messages that arrived and the repeats.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A run fails when no new message has arrived for this long. */
const STALL_MS = 30_000;

export interface Tally {
  expected: number;
  seen: Set<number>;
  duplicates: number;
  lastArrival: number;
}

/**
 * A destination that answers 200 at once; a message arrives at `/<run>/<n>`, and each run's
 * tally counts its distinct messages and its repeats.
 */
export async function destination() {
  const tallies = new Map<string, Tally>();
  const server = createServer((req, res) => {
    const at = performance.now();
    req.resume();
    req.on('end', () => {
      const [, run = '', n = ''] = (req.url ?? '').split('/');
      const tally = tallies.get(run);
      if (tally !== undefined) {
        const i = Number(n);
        if (tally.seen.has(i)) tally.duplicates++;
        else {
          tally.seen.add(i);
          tally.lastArrival = at;
        }
      }
      res.writeHead(200).end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    server,
    /** Starts counting run `run`, which sends `expected` distinct messages. */
    expect(run: string, expected: number): Tally {
      const tally: Tally = { expected, seen: new Set(), duplicates: 0, lastArrival: NaN };
      tallies.set(run, tally);
      return tally;
    },
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
export type Destination = Awaited<ReturnType<typeof destination>>;

/**
 * Resolves once every message of `tally` arrived; rejects after `STALL_MS` without a new one, or
 * once `stopped()` says the run is over anyway (its publishing failed).
 */
export function arrivedAll(tally: Tally, stopped: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let last = -1;
    let lastChange = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      if (tally.seen.size >= tally.expected) {
        clearInterval(timer);
        resolve();
      } else if (stopped()) {
        clearInterval(timer);
        reject(new Error('stopped'));
      } else if (tally.seen.size !== last) {
        last = tally.seen.size;
        lastChange = now;
      } else if (now - lastChange > STALL_MS) {
        clearInterval(timer);
        reject(
          new Error(
            `stalled: ${tally.seen.size} of ${tally.expected} arrived, none for ${STALL_MS / 1000} s`,
          ),
        );
      }
    }, 20);
  });
}
