import type { Queue, Queues } from '../flow/queues';
import { HttpError, ok, type Reply } from './respond';
import { after, type MaybePromise } from '../store/flow-store';

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

/** The queue endpoints (`/v2/queues`), framework-free: upsert, read, list, delete, pause, resume. */
export function queueHandlers(queues: Queues) {
  const find = (name: string) => {
    const q = queues.get(name);
    if (q === undefined) throw new HttpError(404, `queue "${name}" not found`);
    return q;
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

    async list(): Promise<Reply> {
      const described = [];
      for (const q of queues.list()) described.push(describeQueue(q, await queues.lag(q.name)));
      return ok(described);
    },

    get(name: string): MaybePromise<Reply> {
      const q = find(name);
      return after(queues.lag(name), (lag) => ok(describeQueue(q, lag)));
    },

    async remove(name: string): Promise<Reply> {
      await queues.delete(find(name).name);
      return ok();
    },

    async pause(name: string): Promise<Reply> {
      await queues.pause(find(name).name);
      return ok();
    },

    async resume(name: string): Promise<Reply> {
      await queues.resume(find(name).name);
      return ok();
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
