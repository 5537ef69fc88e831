/**
 * Real `@upstash/workflow` endpoints for the tests: an Express app (the SDK's express adapter) and
 * a plain Node server around the SDK's fetch handler, both on ephemeral loopback ports, with a
 * record of every call they served (for overlap and timing checks).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach } from 'vitest';
import { Client as QStashClient, Receiver } from '@upstash/qstash';
import { Client } from '@upstash/workflow';
import { DEV_SIGNING_KEYS } from '../delivery/signature';
import { startApp, type Running } from './helpers';

/** What an endpoint saw: each call's path and span, and the most calls served at once. */
export class CallRecord {
  readonly calls: Array<{ path: string; start: number; end: number }> = [];
  inFlight = 0;
  maxInFlight = 0;

  enter(path: string): () => void {
    const start = performance.now();
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return () => {
      this.inFlight--;
      this.calls.push({ path, start, end: performance.now() });
    };
  }
}

export interface Endpoint {
  base: string;
  record: CallRecord;
  close(): Promise<void>;
}

/** The options every test's `serve()` takes: Baton as QStash, its deliveries verified. */
export function serveOptions(batonBase: string) {
  return {
    qstashClient: new QStashClient({ baseUrl: batonBase, token: 'test-token' }),
    receiver: new Receiver({
      currentSigningKey: DEV_SIGNING_KEYS.current,
      nextSigningKey: DEV_SIGNING_KEYS.next,
    }),
  };
}

export const workflowClient = (batonBase: string) =>
  new Client({ baseUrl: batonBase, token: 'test-token' });

async function listen(server: Server, record: CallRecord): Promise<Endpoint> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    record,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An Express app; `mount` adds its routes (e.g. `app.use('/wf', serve(...))`). */
export async function expressEndpoint(mount: (app: express.Express) => void): Promise<Endpoint> {
  const record = new CallRecord();
  const app = express();
  app.use((req, res, next) => {
    // `/_…` paths are the test's own probes, not calls.
    if (req.path.startsWith('/_')) return next();
    const done = record.enter(req.path);
    res.on('close', done);
    next();
  });
  app.use(express.json({ limit: '5mb' }));
  app.use(express.text({ limit: '5mb' }));
  mount(app);
  return listen(createServer(app), record);
}

type FetchHandler = (request: Request) => Promise<Response>;

async function toRequest(req: IncomingMessage, base: string): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  }
  const body = Buffer.concat(chunks);
  return new Request(new URL(req.url ?? '/', base), {
    method: req.method ?? 'GET',
    headers,
    ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body }),
  });
}

/** A plain Node server around fetch handlers (the SDK's platform-free `serve`), by path. */
export async function fetchEndpoint(routes: Record<string, FetchHandler>): Promise<Endpoint> {
  const record = new CallRecord();
  let base = '';
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const done = record.enter(path);
    res.on('close', done);
    const handler = routes[path];
    if (handler === undefined) {
      res.writeHead(404).end();
      return;
    }
    void toRequest(req, base)
      .then(handler)
      .then(async (response) => {
        res.writeHead(response.status, Object.fromEntries(response.headers));
        res.end(Buffer.from(await response.arrayBuffer()));
      })
      .catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  const endpoint = await listen(server, record);
  base = endpoint.base;
  return endpoint;
}

/**
 * Resolves when `check` holds, polling every 25 ms; fails after `timeoutMs`. For state outside
 * Baton's events (an endpoint's records, a run's logs); Baton's own state is awaited by event.
 */
export async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the condition');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A promise and its resolver: a workflow's last line resolves it. */
export function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A test file's Baton and endpoints, closed after each test: the endpoints first, once the calls
 * they serve are done (a run's last call ends it with a DELETE to Baton before it answers).
 */
export function testbed() {
  let baton: Running | undefined;
  const endpoints: Endpoint[] = [];
  afterEach(async () => {
    for (const e of endpoints) await until(() => e.record.inFlight === 0, 5_000).catch(() => {});
    for (const e of endpoints.splice(0)) await e.close();
    await baton?.close();
    baton = undefined;
  });
  const track = (e: Endpoint) => {
    endpoints.push(e);
    return e;
  };
  return {
    /** Starts Baton (on a free port) for this test. */
    start: async (options: Parameters<typeof startApp>[0] = {}) =>
      (baton = await startApp(options)),
    /** An Express endpoint for this test. */
    express: async (mount: (app: express.Express) => void) => track(await expressEndpoint(mount)),
    /** A plain server of fetch handlers for this test. */
    fetch: async (routes: Record<string, FetchHandler>) => track(await fetchEndpoint(routes)),
  };
}
