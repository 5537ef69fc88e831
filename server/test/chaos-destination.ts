/**
 * The chaos test's destination: a real HTTP server on loopback that records every delivery
 * attempt (message id, flow-control key from the path `/k/<key>`, the body, `Upstash-Retried`,
 * when it arrived and when it ended) and answers 200 after a delay, so deliveries overlap.
 *
 * An attempt whose connection closes before the answer is `abandoned`: its server died with it
 * (`kill -9` closes the process's sockets at once). It ends at that instant: the destination is no
 * longer serving it, even though Redis still counts its token until the lease runs out.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface Attempt {
  /** `Upstash-Message-Id`. */
  id: string;
  key: string;
  /** The body: the test's own name for the message. */
  tag: string;
  /** `Upstash-Retried`. */
  retried: number;
  /** Arrival (headers received), epoch ms with fractions. */
  start: number;
  /** When it was answered, or abandoned; null while open. */
  end: number | null;
  abandoned: boolean;
  /** Attempts of its key open at the destination at its arrival, itself included. */
  concurrent: number;
}

/** Epoch milliseconds with sub-millisecond resolution, on the clock Redis's TIME also reads. */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

/**
 * Starts the destination. `delayMs(tag)` is how long the answer to a message takes.
 */
export async function startRecordingDestination(delayMs: (tag: string) => number) {
  const attempts: Attempt[] = [];
  const open = new Map<string, number>();
  const watchers = new Set<() => void>();
  const changed = (): void => {
    for (const w of [...watchers]) w();
  };

  const server: Server = createServer((req, res) => {
    const key = decodeURIComponent(/^\/k\/([^/?]+)/.exec(req.url ?? '')?.[1] ?? '');
    const a: Attempt = {
      id: String(req.headers['upstash-message-id'] ?? ''),
      key,
      tag: '',
      retried: Number(req.headers['upstash-retried'] ?? -1),
      start: preciseNow(),
      end: null,
      abandoned: false,
      concurrent: (open.get(key) ?? 0) + 1,
    };
    open.set(key, a.concurrent);
    attempts.push(a);
    const close = (abandoned: boolean): void => {
      if (a.end !== null) return;
      a.end = preciseNow();
      a.abandoned = abandoned;
      open.set(key, (open.get(key) ?? 1) - 1);
      changed();
    };
    // Fired once the answer is written, or when the client goes away first.
    res.on('close', () => close(!res.writableFinished));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      a.tag = Buffer.concat(chunks).toString('utf8');
      setTimeout(() => {
        if (res.destroyed) return;
        // Counted as ended when the answer leaves, before Baton can hand the token on.
        close(false);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      }, delayMs(a.tag));
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    attempts,
    /** Attempts open now. */
    openCount: (): number => [...open.values()].reduce((s, n) => s + n, 0),
    /**
     * Resolves once `done()` holds, checked after every attempt that ends; rejects with
     * `describe()` after `timeoutMs`.
     */
    until(done: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
      if (done()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms: ${describe()}`));
        }, timeoutMs);
        const check = (): void => {
          if (!done()) return;
          clearTimeout(timer);
          watchers.delete(check);
          resolve();
        };
        watchers.add(check);
      });
    },
    close: (): Promise<void> =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type RecordingDestination = Awaited<ReturnType<typeof startRecordingDestination>>;
