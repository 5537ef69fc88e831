import { createServer, type Server as HttpServer } from 'node:http';
import { existsSync } from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { Logger } from 'pino';
import { Server } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../shared/events';
import type { AttemptResult, HandoffPolicy } from '../shared/engine/types';
import type { MessageId } from '../shared/engine/units';
import { HttpDeliverer } from './delivery/http';
import { DEV_SIGNING_KEYS, type SigningKeys } from './delivery/signature';
import { SimulatedDeliverer } from './delivery/simulated';
import { routeDeliverer } from './delivery/router';
import { FlowController } from './flow/controller';
import { Queues } from './flow/queues';
import { Schedules } from './flow/schedules';
import { UrlGroups } from './flow/url-groups';
import { systemClock, systemTimers, type Clock, type Deliverer, type Timers } from './flow/types';
import { apiRouter, randomMessageId } from './http/router';
import { createBrowserGuard } from './http/browser-guard';
import { answerClientErrorsAsJson, jsonErrorHandler, jsonNotFound } from './http/json-errors';
import { tokenChecker } from './http/token';
import { DeliveryLogs, type Logs, type SharedLogs } from './flow/delivery-logs';
import { MessageLog, type SharedMessageLog } from './flow/message-log';
import { DEFAULT_RETENTION, type RetentionOptions } from './flow/retention';
import { Publisher } from './flow/publisher';
import { drain, type ShutdownReport } from './flow/shutdown';
import { WorkflowWaiters } from './flow/workflow-waiters';
import { Workflows } from './flow/workflows';
import { attachRealtime } from './realtime/stream';
import { MemoryDedupIds, type DedupIds } from './store/dedup';
import type { FlowStore } from './store/flow-store';
import { MemoryStore } from './store/memory-store';
import { MemoryRecords, type Records } from './store/records';

export interface AppOptions {
  log: Logger;
  clock?: Clock;
  /** Timers of the flow controller and the schedules; the system's by default (tests drive their own). */
  timers?: Timers;
  /** Required token for the API and the socket; none: any bearer token is accepted. */
  token?: string;
  /**
   * Where flow control lives; a fresh in-memory store by default (then built with
   * `globalParallelism` and `policy`, which a given store was built with already).
   */
  store?: FlowStore;
  /** Where deduplication ids are kept; this process's memory by default. */
  dedupIds?: DedupIds;
  /** Where URL groups, queues and schedules are kept; this process's memory by default. */
  records?: Records;
  /**
   * The message log every server shares (Redis): what the API answers of messages and dead
   * letters. This process's log when absent.
   */
  sharedLog?: SharedMessageLog;
  /**
   * QStash's logs every server shares (Redis), for `GET /v2/events`, with `sharedLog` (whose
   * documents give each message's details). This process's logs when absent.
   */
  sharedLogs?: SharedLogs;
  globalParallelism?: number | null;
  policy?: HandoffPolicy;
  /** Signing keys for `Upstash-Signature`; the clients' development keys by default. */
  signingKeys?: SigningKeys;
  /** Browser origins besides the dashboard's own that may call the API and socket (`*`: any). */
  allowedOrigins?: readonly string[];
  /** Host names besides IP literals and localhost that requests may address (`*`: any). */
  allowedHosts?: readonly string[];
  /** Largest request body, in bytes; 1 MiB by default. */
  maxBodyBytes?: number;
  /** Longest an attempt may take when a message sets no `Upstash-Timeout`. */
  requestTimeoutMs?: number;
  /** Forget keys idle this long (see `FlowEngine.forgetIdleKeys`); never when null or absent. */
  keyTtlMs?: number | null;
  /** What is kept of ended messages, dead letters and logs; `DEFAULT_RETENTION` by default. */
  retention?: RetentionOptions;
  /** Delivers http(s) destinations; the real HTTP deliverer by default. */
  httpDeliverer?: Deliverer;
  /** Folder of the built dashboard; served at `/` when it exists. */
  staticDir?: string;
  newMessageId?: () => MessageId;
}

export interface App {
  http: HttpServer;
  io: Server<ClientToServerEvents, ServerToClientEvents>;
  controller: FlowController;
  schedules: Schedules;
  urlGroups: UrlGroups;
  queues: Queues;
  workflows: Workflows;
  /**
   * Stops taking work: every request gets a 503 with `Retry-After`, no new delivery starts, and
   * the deliveries in flight may finish within `timeoutMs`. Says what was left behind.
   */
  shutdown(timeoutMs: number): Promise<ShutdownReport>;
  close(): Promise<void>;
}

/** The composition root: builds the engine, controller, HTTP API, dashboard and Socket.IO stream. */
export function createApp(options: AppOptions): App {
  const clock = options.clock ?? systemClock;
  const store =
    options.store ??
    new MemoryStore({
      clock,
      globalParallelism: options.globalParallelism ?? null,
      policy: options.policy ?? 'fifo',
    });
  const signingKeys = options.signingKeys ?? DEV_SIGNING_KEYS;
  const http_ =
    options.httpDeliverer ??
    new HttpDeliverer(
      {
        clock,
        signingKey: signingKeys.current,
        defaultTimeoutMs: options.requestTimeoutMs ?? 30_000,
      },
      (delivery, answer) => publisher.answered(delivery, answer),
    );
  const routed = routeDeliverer({ sim: new SimulatedDeliverer(), http: http_ });
  // A call of a Workflow run carries the run's steps so far, read when the call starts.
  const deliverer: Deliverer = {
    deliver: (d) => {
      publisher.attempting(d);
      const payload = workflows.payloadFor(d.id, d.payload);
      if (!(payload instanceof Promise)) return routed.deliver({ ...d, payload });
      return payload.then(
        (p) => routed.deliver({ ...d, payload: p }),
        (err: unknown): AttemptResult => ({
          ok: false,
          error: `the steps of its workflow run could not be read: ${(err as Error).message}`,
        }),
      );
    },
  };
  const timers = options.timers ?? systemTimers;
  const controller = new FlowController({
    store,
    clock,
    deliverer,
    timers,
    keyTtlMs: options.keyTtlMs ?? null,
  });
  const retention = options.retention ?? DEFAULT_RETENTION;
  const messageLog = new MessageLog({
    history: retention.history,
    keepBodies: retention.keepBodies,
    deadLetters: retention.deadLetters,
    clock,
    onDeadLetterDropped: (m, why) =>
      options.log.warn(
        { messageId: m.messageId, dlqId: m.dlqId, why },
        why === 'bytes'
          ? 'dead letter dropped: the dead-letter list is over --dlq-bytes'
          : 'dead letter dropped: older than --dlq-max-age',
      ),
  });
  // One message log follows the events: the shared one (Redis) when given, else this process's.
  const sharedLog = options.sharedLog;
  if (sharedLog === undefined) controller.onEvents((events) => messageLog.apply(events));
  else {
    controller.onEvents((events) => sharedLog.apply(events));
    sharedLog.start();
  }
  // After the message log, whose entries it reads.
  const deliveryLogs: Logs =
    options.sharedLogs ?? new DeliveryLogs(messageLog, { limit: retention.logs, clock });
  controller.onEvents((events) => deliveryLogs.apply(events));
  options.sharedLogs?.start();
  const warn = (msg: string, err?: unknown) => options.log.warn({ err }, msg);
  const records = options.records ?? new MemoryRecords();
  const workflows: Workflows = new Workflows({
    messages: options.sharedLog ?? messageLog,
    records,
    clock,
    cancel: (m) => {
      const done = controller.cancel(m);
      if (done instanceof Promise)
        done.catch((err) => warn("a run's message could not be cancelled", err));
    },
    publish: () => (parsed) => publisher.publish(parsed),
    warn,
    retention: retention.history,
  });
  const dedupIds = options.dedupIds ?? new MemoryDedupIds(() => clock.now());
  const publisher: Publisher = new Publisher(
    controller,
    messageLog,
    options.newMessageId ?? randomMessageId,
    workflows,
    dedupIds,
    options.sharedLog,
  );
  // After the publisher, whose callbacks read a failed run's message before the run ends.
  controller.onEvents((events) => workflows.apply(events));
  const waiters = new WorkflowWaiters({
    workflows,
    clock,
    timers,
    records,
    publish: () => (parsed) => publisher.publish(parsed),
    warn,
  });
  const schedules = new Schedules({
    clock,
    timers,
    records,
    publish: (parsed) => publisher.publish(parsed),
    onError: (scheduleId, err) =>
      options.log.warn({ err, scheduleId }, 'a schedule tick could not publish'),
    warn,
  });
  const urlGroups = new UrlGroups(clock, records);
  const queues = new Queues(controller, records);

  const app = express();
  app.disable('x-powered-by');
  const guard = createBrowserGuard({
    allowedOrigins: options.allowedOrigins,
    allowedHosts: options.allowedHosts,
  });
  app.use(guard.middleware);
  let stopping = false;
  app.use((_req, res, next) => {
    if (!stopping) return next();
    res.setHeader('Retry-After', '5');
    res.setHeader('Connection', 'close');
    res.status(503).json({
      error: 'Baton is shutting down: try again shortly, on another server or after its restart',
    });
  });
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.use(
    apiRouter({
      controller,
      publisher,
      messageLog,
      ...(options.sharedLog !== undefined ? { messageReads: options.sharedLog } : {}),
      schedules,
      urlGroups,
      queues,
      deliveryLogs,
      workflows,
      waiters,
      log: options.log,
      token: options.token,
      signingKeys,
      maxBodyBytes: options.maxBodyBytes,
    }),
  );
  if (options.staticDir !== undefined && existsSync(options.staticDir)) {
    const dir = path.resolve(options.staticDir);
    app.use(express.static(dir));
    app.get('/{*path}', (_req, res) => res.sendFile(path.join(dir, 'index.html')));
  }

  app.use(jsonNotFound);
  app.use(jsonErrorHandler(options.log));

  const http = createServer(app);
  answerClientErrorsAsJson(http);
  const io = new Server<ClientToServerEvents, ServerToClientEvents>(http, { serveClient: false });
  io.engine.use(guard.socketMiddleware);
  if (options.token !== undefined) {
    const tokenMatches = tokenChecker(options.token);
    io.use((socket, next) => {
      const given = (socket.handshake.auth as { token?: unknown }).token;
      next(tokenMatches(given) ? undefined : new Error('unauthorized'));
    });
  }
  const realtime = attachRealtime(io, controller, { clock });

  return {
    http,
    io,
    controller,
    schedules,
    urlGroups,
    queues,
    workflows,
    async shutdown(timeoutMs) {
      stopping = true;
      await schedules.close();
      await waiters.close();
      return drain(controller, timeoutMs);
    },
    async close() {
      await schedules.close();
      await waiters.close();
      realtime.close();
      await controller.close();
      await workflows.close();
      await dedupIds.close();
      await records.close();
      await sharedLog?.close();
      await options.sharedLogs?.close();
      if (http_ instanceof HttpDeliverer) await http_.close();
      await io.close();
      if (http.listening) {
        const closed = new Promise<void>((resolve) => http.close(() => resolve()));
        // Idle keep-alive connections would hold the close open.
        http.closeIdleConnections();
        await closed;
      }
    },
  };
}
