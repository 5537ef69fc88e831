import type { Queue, Queues } from '../flow/queues';
import { HttpError, ok, type Reply } from './respond';
import { after, all, type MaybePromise } from '../store/flow-store';
import { chain } from '../store/update-record';

/** A queue as QStash's `QueueResponse` type has it (the client's `queue().get()` and `list()`). */
export function describeQueue(q: Readonly<Queue>, lag: number) {
  return {
    name: q.name,
    createdAt: q.createdAt,
    updatedAt: q.updatedAt,
    parallelism: q.parallelism,
    lag,
    paused: q.paused,
  };
}

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `queue name "${raw}" is not validly URL-encoded`);
  }
}

/**
 * The queue endpoints (`/v2/queues`), framework-free: upsert, read, list, delete, pause, resume.
 * Reads answer at once on memory records and a memory store, with a promise otherwise.
 */
export function queueHandlers(queues: Queues) {
  const notFound = (name: string) => new HttpError(404, `queue "${name}" not found`);
  const found = (name: string) => (known: boolean) => {
    if (!known) throw notFound(name);
    return ok();
  };
  const handlers = {
    /** `POST /v2/queues`: `{queueName, parallelism?, paused?}` creates or updates the queue. */
    async upsert(body: string | undefined): Promise<Reply> {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body ?? '');
      } catch {
        throw new HttpError(
          400,
          'body must be JSON like {"queueName": "q", "parallelism": 1, "paused": false}',
        );
      }
      await queues.upsert(parsed);
      return ok();
    },

    list(): MaybePromise<Reply> {
      return chain(queues.list(), (list) =>
        after(all(list.map((q) => after(queues.lag(q.name), (lag) => describeQueue(q, lag)))), ok),
      );
    },

    get(name: string): MaybePromise<Reply> {
      return chain(queues.get(name), (q) => {
        if (q === undefined) throw notFound(name);
        return after(queues.lag(name), (lag) => ok(describeQueue(q, lag)));
      });
    },

    remove(name: string): Promise<Reply> {
      return queues.delete(name).then(found(name));
    },

    pause(name: string): Promise<Reply> {
      return queues.pause(name).then(found(name));
    },

    resume(name: string): Promise<Reply> {
      return queues.resume(name).then(found(name));
    },

    /** Routes `/v2/queues…`; `rest` is the path after `/v2/queues`. */
    route(method: string, rest: string, body: string | undefined): MaybePromise<Reply> | undefined {
      if (rest === '' || rest === '/') {
        if (method === 'GET') return handlers.list();
        if (method === 'POST') return handlers.upsert(body);
        return undefined;
      }
      const m = /^\/([^/]+)(?:\/(pause|resume))?\/?$/.exec(rest);
      if (m === null) return undefined;
      const name = decodeName(m[1]!);
      const action = m[2];
      if (action !== undefined) {
        if (method !== 'POST') return undefined;
        return action === 'pause' ? handlers.pause(name) : handlers.resume(name);
      }
      if (method === 'GET') return handlers.get(name);
      if (method === 'DELETE') return handlers.remove(name);
      return undefined;
    },
  };
  return handlers;
}
