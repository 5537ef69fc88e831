import { shownBody, shownHeaders } from '../../shared/protocol/redact';
import { parseDuration } from '../../shared/protocol/duration';
import type { HeaderBag } from '../../shared/protocol/publish';
import type { MessageReads, MessageStatus } from '../flow/message-log';
import type { Schedule, Schedules } from '../flow/schedules';
import { after, all, type MaybePromise } from '../store/flow-store';
import { HttpError, ok, type Reply } from './respond';

/**
 * A schedule as QStash's `Schedule` type has it (the client's `schedules.get` and `list`), its
 * last tick's messages' states read from `log` (the shared one with several servers: the tick
 * may have been published by any).
 */
export function describeSchedule(s: Readonly<Schedule>, log: MessageReads) {
  const ids = [...s.lastMessageIds];
  return after(all(ids.map((id) => log.get(id))), (messages) => {
    const states: Record<string, MessageStatus> = {};
    messages.forEach((m, i) => {
      if (m !== undefined) states[ids[i]!] = m.status;
    });
    return describeWith(s, states);
  });
}

function describeWith(s: Readonly<Schedule>, states: Record<string, MessageStatus>) {
  const { payload, input, callback, failureCallback, label } = s.template;
  // Each tick's message counts its delay from the tick; `Upstash-Not-Before` wins, as on publish.
  const delayHeader =
    s.headers['upstash-not-before'] === undefined ? s.headers['upstash-delay'] : undefined;
  const delayMs = delayHeader === undefined ? null : parseDuration(delayHeader);
  const config = input.config;
  return {
    scheduleId: s.scheduleId,
    cron: s.cron,
    createdAt: s.createdAt,
    destination: s.destination,
    method: payload.method,
    header: Object.fromEntries(
      Object.entries(shownHeaders(payload.headers, payload.redact)).map(([k, v]) => [k, [v]]),
    ),
    ...shownBody(payload.body, payload.redact),
    retries: input.retries ?? 3,
    ...(delayMs !== null && delayMs > 0 ? { delay: delayMs / 1000 } : {}),
    ...(callback !== undefined ? { callback: callback.url } : {}),
    ...(failureCallback !== undefined ? { failureCallback: failureCallback.url } : {}),
    isPaused: s.isPaused,
    ...(input.key !== undefined ? { flowControlKey: input.key } : {}),
    ...(config?.parallelism !== undefined ? { parallelism: config.parallelism } : {}),
    ...(config?.rate !== undefined ? { rate: config.rate } : {}),
    ...(config?.periodMs !== undefined ? { period: config.periodMs / 1000 } : {}),
    ...(payload.retryDelay !== undefined ? { retryDelayExpression: payload.retryDelay } : {}),
    ...(label !== undefined ? { label } : {}),
    ...(s.lastScheduleTime !== undefined ? { lastScheduleTime: s.lastScheduleTime } : {}),
    ...(s.nextScheduleTime !== undefined ? { nextScheduleTime: s.nextScheduleTime } : {}),
    ...(s.lastMessageIds.length > 0 ? { lastScheduleStates: states } : {}),
  };
}

/** `after` whose step may answer a promise too (a promise's `then` flattens it). */
function andThen<T, R>(value: MaybePromise<T>, then: (v: T) => MaybePromise<R>): MaybePromise<R> {
  return after(value, then) as MaybePromise<R>;
}

function decodeId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `schedule id "${raw}" is not validly URL-encoded`);
  }
}

/** The schedule endpoints, framework-free: create (or replace), read, list, delete, pause, resume. */
export function scheduleHandlers(schedules: Schedules, log: MessageReads) {
  const missing = (id: string) => new HttpError(404, `schedule "${id}" not found`);
  /** Runs `change` on the decoded id; a 404 when it says the schedule is unknown. */
  const changed = (
    rawId: string,
    change: (id: string) => MaybePromise<boolean>,
  ): MaybePromise<Reply> => {
    const id = decodeId(rawId);
    return after(change(id), (found) => {
      if (!found) throw missing(id);
      return ok();
    });
  };
  const handlers = {
    /** `POST /v2/schedules/{destination}`: the destination raw, with its query string. */
    create(
      destination: string,
      headers: HeaderBag,
      body: Uint8Array | undefined,
    ): MaybePromise<Reply> {
      return after(schedules.create(destination, headers, body), ok);
    },

    list(): MaybePromise<Reply> {
      return andThen(schedules.list(), (list) =>
        after(all(list.map((s) => describeSchedule(s, log))), ok),
      );
    },

    get(rawId: string): MaybePromise<Reply> {
      const id = decodeId(rawId);
      return andThen(schedules.get(id), (s) => {
        if (s === undefined) throw missing(id);
        return after(describeSchedule(s, log), ok);
      });
    },

    remove: (rawId: string) => changed(rawId, (id) => schedules.delete(id)),
    pause: (rawId: string) => changed(rawId, (id) => schedules.pause(id)),
    resume: (rawId: string) => changed(rawId, (id) => schedules.resume(id)),

    /**
     * Routes `/v2/schedules…`; `rest` is the path after `/v2/schedules`. A destination is told
     * from `{id}/pause` by its scheme (`https://…`), whose first segment ends with `:`.
     */
    route(
      method: string,
      rest: string,
      rawQuery: string,
      headers: () => HeaderBag,
      body: Uint8Array | undefined,
    ): MaybePromise<Reply> | undefined {
      if (rest === '' || rest === '/') {
        if (method === 'GET') return handlers.list();
        return method === 'POST' ? handlers.create('', headers(), body) : undefined;
      }
      if (!rest.startsWith('/')) return undefined;
      const tail = rest.slice(1);
      const action = /^([^/]*[^/:])\/(pause|resume)$/.exec(tail);
      if (action !== null && (method === 'PATCH' || method === 'POST'))
        return action[2] === 'pause' ? handlers.pause(action[1]!) : handlers.resume(action[1]!);
      if (method === 'POST') {
        // The destination's own query string arrives as the request's query string.
        return handlers.create(tail + (rawQuery === '' ? '' : `?${rawQuery}`), headers(), body);
      }
      if (tail.includes('/')) return undefined;
      if (method === 'GET') return handlers.get(tail);
      if (method === 'DELETE') return handlers.remove(tail);
      return undefined;
    },
  };
  return handlers;
}
