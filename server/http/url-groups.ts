import type { UrlGroup, UrlGroups } from '../flow/url-groups';
import { after, type MaybePromise } from '../store/flow-store';
import { chain } from '../store/update-record';
import { HttpError, ok, type Reply } from './respond';

/** A group as QStash's `UrlGroup` type has it (the client's `urlGroups.get` and `list`). */
export function describeUrlGroup(g: Readonly<UrlGroup>) {
  return {
    name: g.name,
    createdAt: g.createdAt,
    updatedAt: g.updatedAt,
    endpoints: g.endpoints.map((e) => (e.name === undefined ? { url: e.url } : { ...e })),
  };
}

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `url group name "${raw}" is not validly URL-encoded`);
  }
}

/** `{"endpoints": [...]}` from a request body. */
function endpointsOf(body: string | undefined): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? '');
  } catch {
    throw new HttpError(400, 'body must be JSON like {"endpoints": [{"url": "https://…"}]}');
  }
  if (typeof parsed !== 'object' || parsed === null || !('endpoints' in parsed))
    throw new HttpError(400, 'body must be JSON like {"endpoints": [{"url": "https://…"}]}');
  return parsed.endpoints;
}

/**
 * The URL group endpoints (`/v2/topics`), framework-free: add and remove endpoints, read, delete.
 * Answers at once on memory records, with a promise on Redis ones.
 */
export function urlGroupHandlers(groups: UrlGroups) {
  const notFound = (name: string) => new HttpError(404, `url group "${name}" not found`);
  const find = (name: string) =>
    after(groups.get(name), (g) => {
      if (g === undefined) throw notFound(name);
      return g;
    });
  const handlers = {
    /** `POST /v2/topics/{name}/endpoints`: creates the group when it is new. */
    addEndpoints(name: string, body: string | undefined): MaybePromise<Reply> {
      return after(groups.addEndpoints(name, endpointsOf(body)), () => ok());
    },

    /** `DELETE /v2/topics/{name}/endpoints`: by url, name or both; an emptied group is deleted. */
    removeEndpoints(name: string, body: string | undefined): MaybePromise<Reply> {
      // Unknown is a 404 before the body is read, as it was; gone since is a 404 too.
      return chain(find(name), () =>
        after(groups.removeEndpoints(name, endpointsOf(body)), (g) => {
          if (g === undefined) throw notFound(name);
          return ok();
        }),
      );
    },

    list(): MaybePromise<Reply> {
      return after(groups.list(), (list) => ok(list.map(describeUrlGroup)));
    },

    get(name: string): MaybePromise<Reply> {
      return after(find(name), (g) => ok(describeUrlGroup(g)));
    },

    remove(name: string): MaybePromise<Reply> {
      return after(groups.delete(name), (deleted) => {
        if (!deleted) throw notFound(name);
        return ok();
      });
    },

    /** Routes `/v2/topics…`; `rest` is the path after `/v2/topics`. */
    route(method: string, rest: string, body: string | undefined): MaybePromise<Reply> | undefined {
      if (rest === '' || rest === '/') return method === 'GET' ? handlers.list() : undefined;
      const m = /^\/([^/]+)(\/endpoints)?\/?$/.exec(rest);
      if (m === null) return undefined;
      const name = decodeName(m[1]!);
      if (m[2] !== undefined) {
        if (method === 'POST') return handlers.addEndpoints(name, body);
        if (method === 'DELETE') return handlers.removeEndpoints(name, body);
        return undefined;
      }
      if (method === 'GET') return handlers.get(name);
      if (method === 'DELETE') return handlers.remove(name);
      return undefined;
    },
  };
  return handlers;
}
