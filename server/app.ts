import { createServer, type Server as HttpServer } from 'node:http';
import { existsSync } from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { Logger } from 'pino';
import { Server } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../shared/events';
import { FlowEngine } from '../shared/engine/engine';
import type { HandoffPolicy } from '../shared/engine/types';
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
import { DeliveryLogs } from './flow/delivery-logs';
import { MessageLog } from './flow/message-log';
import { Publisher } from './flow/publisher';
import { WorkflowWaiters } from './flow/workflow-waiters';
import { Workflows } from './flow/workflows';
import { attachRealtime } from './realtime/stream';

export interface AppOptions {
  log: Logger;
  clock?: Clock;
  /** Timers of the flow controller and the schedules; the system's by default (tests drive their own). */
  timers?: Timers;
  /** Required token for the API and the socket; none: any bearer token is accepted. */
  token?: string;
  globalParallelism?: number | null;
  policy?: HandoffPolicy;
  /** Signing keys for `Upstash-Signature`; the clients' development keys by default. */
  signingKeys?: SigningKeys;
  /** Longest an attempt may take when a message sets no `Upstash-Timeout`. */
  requestTimeoutMs?: number;
  /** Forget keys idle this long (see `FlowEngine.forgetIdleKeys`); never when null or absent. */
  keyTtlMs?: number | null;
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
  close(): Promise<void>;
}

/** The composition root: builds the engine, controller, HTTP API, dashboard and Socket.IO stream. */
export function createApp(options: AppOptions): App {
  const clock = options.clock ?? systemClock;
  const engine = new FlowEngine({
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
      (delivery, answer) => publisher.answered(delivery.id, answer),
    );
  const routed = routeDeliverer({ sim: new SimulatedDeliverer(), http: http_ });
  // A call of a Workflow run carries the run's steps so far, read when the call starts.
  const deliverer: Deliverer = {
    deliver: (d) => routed.deliver({ ...d, payload: workflows.payloadFor(d.id, d.payload) }),
  };
  const timers = options.timers ?? systemTimers;
  const controller = new FlowController({
    engine,
    clock,
    deliverer,
    timers,
    keyTtlMs: options.keyTtlMs ?? null,
  });
  const messageLog = new MessageLog();
  controller.onEvents((events) => messageLog.apply(events));
  // After the message log, whose entries it reads.
  const deliveryLogs = new DeliveryLogs(messageLog);
  controller.onEvents((events) => deliveryLogs.apply(events));
  const warn = (msg: string, err?: unknown) => options.log.warn({ err }, msg);
  const workflows: Workflows = new Workflows({
    log: messageLog,
    clock,
    cancel: (m) => controller.cancel(m),
    publish: () => (parsed) => publisher.publish(parsed),
    warn,
  });
  const publisher: Publisher = new Publisher(
    controller,
    messageLog,
    options.newMessageId ?? randomMessageId,
    workflows,
  );
  // After the publisher, whose callbacks read a failed run's message before the run ends.
  controller.onEvents((events) => workflows.apply(events));
  const waiters = new WorkflowWaiters(
    workflows,
    clock,
    timers,
    () => (parsed) => publisher.publish(parsed),
    warn,
  );
  const schedules = new Schedules({
    clock,
    timers,
    publish: (parsed) => publisher.publish(parsed),
    onError: (scheduleId, err) =>
      options.log.warn({ err, scheduleId }, 'a schedule tick could not publish'),
  });
  const urlGroups = new UrlGroups(clock);
  const queues = new Queues(controller);

  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.use(
    apiRouter({
      controller,
      publisher,
      messageLog,
      schedules,
      urlGroups,
      queues,
      deliveryLogs,
      workflows,
      waiters,
      log: options.log,
      token: options.token,
      signingKeys,
    }),
  );
  if (options.staticDir !== undefined && existsSync(options.staticDir)) {
    const dir = path.resolve(options.staticDir);
    app.use(express.static(dir));
    app.get('/{*path}', (_req, res) => res.sendFile(path.join(dir, 'index.html')));
  }

  const http = createServer(app);
  const io = new Server<ClientToServerEvents, ServerToClientEvents>(http, { serveClient: false });
  if (options.token !== undefined) {
    const token = options.token;
    io.use((socket, next) => {
      const given = (socket.handshake.auth as { token?: unknown }).token;
      next(given === token ? undefined : new Error('unauthorized'));
    });
  }
  const realtime = attachRealtime(io, controller, { clock, tagOf: (id) => workflows.tagOf(id) });

  return {
    http,
    io,
    controller,
    schedules,
    urlGroups,
    queues,
    async close() {
      schedules.close();
      waiters.close();
      realtime.close();
      controller.close();
      if (http_ instanceof HttpDeliverer) await http_.close();
      await io.close();
      if (http.listening) await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
