import express, { type Request, type Response, type NextFunction } from 'express';
import type { Logger } from 'pino';
import { messageId, type MessageId } from '../../shared/engine/units';
import { randomBytes } from 'node:crypto';
import type { SigningKeys } from '../delivery/signature';
import type { FlowController } from '../flow/controller';
import type { Logs } from '../flow/delivery-logs';
import type { MessageLog, MessageReads } from '../flow/message-log';
import type { Publisher } from '../flow/publisher';
import type { Queues } from '../flow/queues';
import type { Schedules } from '../flow/schedules';
import type { UrlGroups } from '../flow/url-groups';
import type { WorkflowWaiters } from '../flow/workflow-waiters';
import type { Workflows } from '../flow/workflows';
import { workflowHandlers } from './workflows';
import { logsHandler } from './logs';
import { messageHandlers } from './messages';
import { queueHandlers } from './queues';
import { scheduleHandlers } from './schedules';
import { urlGroupHandlers } from './url-groups';
import { ACTIONS, decodeKey, flowControlHandlers, type KeyAction } from './flow-control';
import type { HeaderBag } from '../../shared/protocol/publish';
import { InvalidRequest } from '../../shared/protocol/invalid-request';
import { HttpError, ok, type Reply } from './respond';
import { tokenChecker } from './token';
import type { MaybePromise } from '../store/flow-store';

export interface ApiOptions {
  controller: FlowController;
  publisher: Publisher;
  messageLog: MessageLog;
  /** What the message and dead-letter endpoints read: `messageLog` unless a shared log is given. */
  messageReads?: MessageReads;
  /** QStash schedules (`/v2/schedules`). */
  schedules: Schedules;
  /** QStash URL groups (`/v2/topics`), and the fan-out of a publish to one. */
  urlGroups: UrlGroups;
  /** QStash queues (`/v2/queues`), and the key an enqueued message waits under. */
  queues: Queues;
  /** `GET /v2/events`: this process's logs, or the ones every server shares. */
  deliveryLogs: Logs;
  /** Workflow runs (`/v2/workflows/…`) and their waits (`/v2/wait`, `/v2/notify`, `/v2/waiters`). */
  workflows: Workflows;
  waiters: WorkflowWaiters;
  log: Logger;
  /** When set, every API call must carry `Authorization: Bearer <token>` (or `?qstash_token=`). */
  token?: string;
  /** Answered at `GET /v2/keys` (the clients' dev mode probes it). */
  signingKeys: SigningKeys;
  /** Largest accepted request body, in bytes (`--max-body-bytes`); 1 MiB by default. */
  maxBodyBytes?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 1_048_576;

/** A path segment, percent-decoded; a malformed escape is a 400, not a crash. */
function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `malformed percent-escape in "${raw.slice(0, 100)}"`);
  }
}

/** A message id's random bytes (120 bits), drawn for 256 ids at a time: a draw costs microseconds. */
const ID_BYTES = 15;
let idPool = Buffer.alloc(0);
let idAt = 0;

export function randomMessageId(): MessageId {
  if (idAt + ID_BYTES > idPool.length) {
    idPool = randomBytes(ID_BYTES * 256);
    idAt = 0;
  }
  const random = idPool.toString('base64url', idAt, idAt + ID_BYTES);
  idAt += ID_BYTES;
  return messageId(`msg_${random}`);
}

/** Headers whose values are names a user reads back (keys, labels): UTF-8, as QStash takes them. */
const UTF8_HEADER = /(^|-)flow-control-key$|^upstash-label$/;

/**
 * A request's headers, lower-cased and joined. Node reads header bytes as Latin-1; a key or a
 * label is re-read as the UTF-8 the client sent (`café`, not `cafÃ©`). Forwarded headers keep their
 * bytes as they came.
 */
function headerBag(req: Request): HeaderBag {
  const bag: HeaderBag = {};
  for (const [name, value] of Object.entries(req.headers)) {
    const v = Array.isArray(value) ? value.join(', ') : value;
    bag[name] = v !== undefined && UTF8_HEADER.test(name) ? utf8Of(v) : v;
  }
  return bag;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The UTF-8 text of a header's bytes; bytes that are not UTF-8 keep their Latin-1 reading. */
function utf8Of(latin1: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(latin1)) return latin1;
  try {
    return strictUtf8.decode(Buffer.from(latin1, 'latin1'));
  } catch {
    return latin1;
  }
}

function queryOf(rawQuery: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQuery)) out[k] = v;
  return out;
}

function send(res: Response, reply: Reply): void {
  if (reply.body === undefined) res.status(reply.status).end();
  else res.status(reply.status).json(reply.body);
}

/**
 * The QStash-compatible `/v2` API as an Express router. Paths are read from the raw request target,
 * so a destination keeps its `//` and its own query string, and a key may contain `/`.
 */
export function apiRouter(options: ApiOptions): express.Router {
  const { controller, log } = options;
  const flow = flowControlHandlers(controller);
  const wf = workflowHandlers(controller, options.workflows, options.waiters);
  const messages = messageHandlers(
    controller,
    options.publisher,
    options.messageReads ?? options.messageLog,
    options.urlGroups,
    options.queues,
    (m) => wf.deadLetterFields(m),
  );
  const schedules = scheduleHandlers(options.schedules, options.messageReads ?? options.messageLog);
  const urlGroups = urlGroupHandlers(options.urlGroups);
  const queues = queueHandlers(options.queues);
  const logs = logsHandler(options.deliveryLogs);
  const router = express.Router();
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const tokenMatches = options.token === undefined ? undefined : tokenChecker(options.token);

  // Only the API is guarded: the dashboard's files hold no data, and the page sends the token itself.
  router.use((req, res, next) => {
    if (tokenMatches === undefined || !req.path.startsWith('/v2')) return next();
    const header = req.headers.authorization ?? '';
    const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1];
    const query = queryOf(req.originalUrl.split('?')[1] ?? '').qstash_token;
    if (tokenMatches(bearer) || tokenMatches(query)) return next();
    send(res, {
      status: 401,
      body: { error: 'missing or wrong token: send Authorization: Bearer <token>' },
    });
  });

  router.use(express.raw({ type: () => true, limit: maxBodyBytes }));

  router.use((req, res, next) => {
    const raw = req.originalUrl;
    const q = raw.indexOf('?');
    const path = q === -1 ? raw : raw.slice(0, q);
    const rawQuery = q === -1 ? '' : raw.slice(q + 1);
    const reply = dispatch(req, path, rawQuery);
    if (reply === undefined) return next();
    // Express 5 passes a rejected promise to the error handler, as it does a throw.
    if (reply instanceof Promise) return reply.then((r) => send(res, r));
    send(res, reply);
  });

  function dispatch(req: Request, path: string, rawQuery: string): MaybePromise<Reply> | undefined {
    const method = req.method;
    // Bodies are bytes: a message's is published as it came; the API's own bodies are JSON text.
    const bytes: Buffer | undefined =
      Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body : undefined;
    if (method === 'POST' && path.startsWith('/v2/publish/')) {
      // The destination's own query string arrives as the request's query string.
      const destination =
        path.slice('/v2/publish/'.length) + (rawQuery === '' ? '' : `?${rawQuery}`);
      return messages.publish(destination, headerBag(req), bytes);
    }
    if (method === 'POST' && path.startsWith('/v2/enqueue/')) {
      // The queue's key and parallelism apply to messages without a flow-control key of their own.
      const rest = path.slice('/v2/enqueue/'.length);
      const slash = rest.indexOf('/');
      if (slash <= 0) throw new HttpError(400, 'use POST /v2/enqueue/{queueName}/{destination}');
      const destination = rest.slice(slash + 1) + (rawQuery === '' ? '' : `?${rawQuery}`);
      return messages.enqueue(rest.slice(0, slash), destination, headerBag(req), bytes);
    }
    // Decoded only here, past the message routes: a 1 MiB publish is never turned into text.
    const body = bytes?.toString('utf8');
    if (method === 'POST' && path === '/v2/batch') return messages.batch(body);
    if (path === '/v2/schedules' || path.startsWith('/v2/schedules/')) {
      const rest = path.slice('/v2/schedules'.length);
      const reply = schedules.route(method, rest, rawQuery, () => headerBag(req), bytes);
      if (reply !== undefined) return reply;
    }
    if (path === '/v2/queues' || path.startsWith('/v2/queues/')) {
      const reply = queues.route(method, path.slice('/v2/queues'.length), body);
      if (reply !== undefined) return reply;
    }
    if (path === '/v2/topics' || path.startsWith('/v2/topics/')) {
      const reply = urlGroups.route(method, path.slice('/v2/topics'.length), body);
      if (reply !== undefined) return reply;
    }
    const params = new URLSearchParams(rawQuery);
    if (path.startsWith('/v2/messages/')) {
      const id = decodeSegment(path.slice('/v2/messages/'.length));
      if (method === 'GET') return messages.get(id);
      if (method === 'DELETE') return messages.cancel(id);
    }
    if (path === '/v2/messages' && method === 'DELETE') return messages.cancelMany(params);
    const wfReply = routeWorkflows(req, method, path, params, body);
    if (wfReply !== undefined) return wfReply;
    if (path === '/v2/dlq' && method === 'GET') return messages.listDeadLetters(params);
    if (path === '/v2/workflows/dlq' && method === 'GET') {
      // The Workflow dead letters (the client itself lists them as `/v2/dlq?source=workflow`).
      params.set('source', 'workflow');
      return messages.listDeadLetters(params);
    }
    if (path === '/v2/events' && method === 'GET') return logs(params);
    if (path === '/v2/dlq' && method === 'DELETE') return messages.deleteDeadLetters(params);
    if (path.startsWith('/v2/dlq/') && method === 'DELETE') {
      return messages.deleteDeadLetter(decodeSegment(path.slice('/v2/dlq/'.length)));
    }
    const query = queryOf(rawQuery);
    if (method === 'GET' && path === '/v2/keys') return ok(options.signingKeys);
    if (method === 'GET' && path === '/v2/flowControl') return flow.list(query);
    if (
      method === 'GET' &&
      (path === '/v2/globalParallelism' || path === '/v2/globalParallelism/')
    ) {
      return flow.globalParallelism();
    }
    if (path.startsWith('/v2/flowControl/')) {
      const rest = path.slice('/v2/flowControl/'.length);
      if (method === 'GET') return flow.get(decodeKey(rest));
      if (method === 'POST') {
        const slash = rest.lastIndexOf('/');
        const action = rest.slice(slash + 1) as KeyAction;
        if (slash <= 0 || !ACTIONS.includes(action)) {
          throw new HttpError(
            404,
            `unknown flow-control action in "${path}"; use ${ACTIONS.join(', ')}`,
          );
        }
        return flow.action(decodeKey(rest.slice(0, slash)), action, query);
      }
    }
    return undefined;
  }

  /** `/v2/workflows/…`, `/v2/wait/…`, `/v2/notify/…` and `/v2/waiters/…`. */
  function routeWorkflows(
    req: Request,
    method: string,
    path: string,
    params: URLSearchParams,
    body: string | undefined,
  ): MaybePromise<Reply> | undefined {
    const tail = (prefix: string) => decodeSegment(path.slice(prefix.length));
    if (path === '/v2/workflows/runs' && method === 'DELETE') return wf.cancelMany(params);
    if (path.startsWith('/v2/workflows/runs/')) {
      const id = tail('/v2/workflows/runs/');
      if (method === 'GET') return wf.steps(id);
      if (method === 'DELETE') return wf.end(id, params, body);
    }
    if (path === '/v2/workflows/events' && method === 'GET') return wf.logs(params);
    if (path === '/v2/workflows/dlq' && method === 'DELETE') return wf.dlqDelete(params);
    if (path === '/v2/workflows/dlq/resume' && method === 'POST')
      return wf.dlqResume(params, headerBag(req));
    if (path === '/v2/workflows/dlq/restart' && method === 'POST')
      return wf.dlqRestart(params, headerBag(req));
    if (path.startsWith('/v2/workflows/dlq/callback/') && method === 'POST')
      return wf.dlqCallback(tail('/v2/workflows/dlq/callback/'));
    if (path.startsWith('/v2/wait/') && method === 'POST')
      return wf.wait(tail('/v2/wait/'), headerBag(req), body);
    if (path.startsWith('/v2/waiters/') && method === 'GET')
      return wf.waiters(tail('/v2/waiters/'));
    if (path.startsWith('/v2/notify/') && method === 'POST') {
      const rest = path.slice('/v2/notify/'.length);
      const slash = rest.indexOf('/');
      // `/v2/notify/{eventId}`, or `/v2/notify/{workflowRunId}/{eventId}` (lookback).
      if (slash === -1) return wf.notify(decodeSegment(rest), body);
      return wf.notify(
        decodeSegment(rest.slice(slash + 1)),
        body,
        decodeSegment(rest.slice(0, slash)),
      );
    }
    return undefined;
  }

  // Anything else under the API, `//v2/…` included, is a JSON 404 (not the dashboard's page).
  router.use((req, _res, next) => {
    const path = req.originalUrl.split('?')[0]!;
    if (!/^\/+v2(\/|$)/.test(path)) return next();
    const hint = path.startsWith('//') ? ' (a base URL ending in "/"?)' : '';
    next(new HttpError(404, `no route for ${req.method} ${path}${hint}`));
  });

  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof HttpError || err instanceof InvalidRequest)
      return send(res, { status: err.status, body: { error: err.message } });
    const e = err as { status?: number; type?: string; message?: string };
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      return send(res, {
        status: e.status,
        body: {
          error:
            e.type === 'entity.too.large'
              ? `request body is larger than the limit of ${maxBodyBytes} bytes (--max-body-bytes)`
              : (e.message ?? 'bad request'),
        },
      });
    }
    if (err instanceof URIError) {
      return send(res, { status: 400, body: { error: 'malformed percent-escape in the path' } });
    }
    log.error({ err }, 'unhandled error');
    send(res, { status: 500, body: { error: 'internal error' } });
  });

  return router;
}
