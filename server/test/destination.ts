import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body's exact bytes. */
  bytes: Buffer;
  /** Requests this destination was serving at once (per flow-control key), including this one. */
  concurrent: number;
  at: number;
}

/**
 * A real local HTTP destination that records every request and how many it was serving at once.
 * `answer` decides each response; it may delay it.
 */
export async function startDestination(
  answer: (r: Received) => {
    status: number;
    headers?: Record<string, string>;
    body?: string | Buffer;
    delayMs?: number;
    /** Holds the response until this settles (after `delayMs`). */
    until?: Promise<unknown>;
  } = () => ({
    status: 200,
  }),
) {
  const received: Received[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const servingWaiters: Array<{ count: number; resolve: () => void }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      for (const w of servingWaiters.filter((x) => inFlight >= x.count)) {
        servingWaiters.splice(servingWaiters.indexOf(w), 1);
        w.resolve();
      }
      const r: Received = {
        path: req.url ?? '',
        method: req.method ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        bytes: Buffer.concat(chunks),
        concurrent: inFlight,
        at: Date.now(),
      };
      received.push(r);
      const a = answer(r);
      const respond = () => {
        inFlight--;
        res.writeHead(a.status, a.headers).end(a.body ?? '');
        for (const w of [...waiters]) {
          if (received.length >= w.count) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve();
          }
        }
      };
      setTimeout(() => {
        if (a.until === undefined) respond();
        else void a.until.then(respond);
      }, a.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    maxInFlight: () => maxInFlight,
    inFlight: () => inFlight,
    /** Resolves once the destination is serving `count` requests at once. */
    serving(count: number): Promise<void> {
      if (inFlight >= count) return Promise.resolve();
      return new Promise((resolve) => servingWaiters.push({ count, resolve }));
    },
    /** Resolves once `count` requests have been answered. */
    answered(count: number): Promise<void> {
      if (received.length >= count && inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
