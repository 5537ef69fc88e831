import { shownBody, shownHeaders } from '../../shared/protocol/redact';
import { parseDuration } from '../../shared/protocol/duration';
import type { HeaderBag } from '../../shared/protocol/publish';
import type { MessageLog, MessageStatus } from '../flow/message-log';
import type { Schedule, Schedules } from '../flow/schedules';
import { HttpError, ok, type Reply } from './respond';

/** A schedule as QStash's `Schedule` type has it (the client's `schedules.get` and `list`). */
export function describeSchedule(s: Readonly<Schedule>, log: MessageLog) {
  const { payload, input, callback, failureCallback, label } = s.template;
  // Each tick's message counts its delay from the tick; `Upstash-Not-Before` wins, as on publish.
  const delayHeader =
    s.headers['upstash-not-before'] === undefined ? s.headers['upstash-delay'] : undefined;
  const delayMs = delayHeader === undefined ? null : parseDuration(delayHeader);
  const config = input.config;
  const states: Record<string, MessageStatus> = {};
  for (const id of s.lastMessageIds) {
    const m = log.get(id);
    if (m !== undefined) states[id] = m.status;
  }
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

function decodeId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `schedule id "${raw}" is not validly URL-encoded`);
  }
}

/** The schedule endpoints, framework-free: create (or replace), read, list, delete, pause, resume. */
export function scheduleHandlers(schedules: Schedules, log: MessageLog) {
  const find = (raw: string) => {
    const id = decodeId(raw);
    const s = schedules.get(id);
    if (s === undefined) throw new HttpError(404, `schedule "${id}" not found`);
    return s;
  };
  const handlers = {
    /** `POST /v2/schedules/{destination}`: the destination raw, with its query string. */
    create(destination: string, headers: HeaderBag, body: Uint8Array | undefined): Reply {
      return ok(schedules.create(destination, headers, body));
    },

    list(): Reply {
      return ok(schedules.list().map((s) => describeSchedule(s, log)));
    },

    get(rawId: string): Reply {
      return ok(describeSchedule(find(rawId), log));
    },

    remove(rawId: string): Reply {
      schedules.delete(find(rawId).scheduleId);
      return ok();
    },

    pause(rawId: string): Reply {
      schedules.pause(find(rawId).scheduleId);
      return ok();
    },

    resume(rawId: string): Reply {
      schedules.resume(find(rawId).scheduleId);
      return ok();
    },

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
    ): Reply | undefined {
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
