import type { Millis } from '../../shared/engine/units';
import { InvalidRequest } from '../../shared/protocol/invalid-request';
import {
  parseDestination,
  parsePublish,
  type HeaderBag,
  type ParsedPublish,
} from '../../shared/protocol/publish';
import { after, type MaybePromise } from '../store/flow-store';
import { jsonCodec, type Collection, type Records } from '../store/records';
import { updateRecord } from '../store/update-record';
import { isValidName, NAME_HELP } from './names';
import type { Clock } from './types';

export { NAME_HELP as GROUP_NAME_HELP } from './names';
/** Most endpoints one group holds: a publish to it makes one message per endpoint. */
export const MAX_ENDPOINTS = 1000;
const MAX_ENDPOINT_NAME = 256;

/** One destination of a group (QStash's `Endpoint`). */
export interface Endpoint {
  name?: string;
  url: string;
}

/** A group as stored and as QStash's `UrlGroup` describes it. */
export interface UrlGroup {
  readonly name: string;
  readonly createdAt: Millis;
  updatedAt: Millis;
  endpoints: Endpoint[];
}

/** True when `raw` can name a URL group (a URL never can: `:` and `/` are not allowed). */
export function isUrlGroupName(raw: string): boolean {
  return isValidName(raw);
}

function checkGroupName(name: string): void {
  if (!isUrlGroupName(name))
    throw new InvalidRequest(`url group name "${name}" is not valid: use ${NAME_HELP}`);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function endpointList(raw: unknown, what: string): unknown[] {
  if (!Array.isArray(raw) || raw.length === 0)
    throw new InvalidRequest(`endpoints must be a non-empty array of ${what}`);
  if (raw.length > MAX_ENDPOINTS)
    throw new InvalidRequest(`a url group holds at most ${MAX_ENDPOINTS} endpoints`);
  return raw;
}

function endpointName(raw: unknown, i: number): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string' || raw === '' || raw.length > MAX_ENDPOINT_NAME)
    throw new InvalidRequest(
      `endpoint ${i}: name must be a string of 1 to ${MAX_ENDPOINT_NAME} characters`,
    );
  return raw;
}

/**
 * Reads the `endpoints` of `POST /v2/topics/{name}/endpoints`: each `{url, name?}`, the URL an
 * absolute http(s) or `sim://` URL. Throws `InvalidRequest` naming the bad endpoint.
 */
export function parseEndpoints(raw: unknown): Endpoint[] {
  return endpointList(raw, '{url, name?}').map((item, i) => {
    if (!isObject(item)) throw new InvalidRequest(`endpoint ${i} must be an object {url, name?}`);
    if (typeof item.url !== 'string')
      throw new InvalidRequest(`endpoint ${i}: url must be a string`);
    try {
      parseDestination(item.url);
    } catch (err) {
      if (err instanceof InvalidRequest)
        throw new InvalidRequest(`endpoint ${i}: ${err.message.replace(/^destination/, 'url')}`);
      throw err;
    }
    const name = endpointName(item.name, i);
    return name === undefined ? { url: item.url } : { name, url: item.url };
  });
}

/** Reads the `endpoints` of `DELETE /v2/topics/{name}/endpoints`: each names a url, a name or both. */
export function parseEndpointRefs(raw: unknown): Array<{ name?: string; url?: string }> {
  return endpointList(raw, '{url} or {name}').map((item, i) => {
    if (!isObject(item)) throw new InvalidRequest(`endpoint ${i} must be an object {url, name}`);
    const url = item.url ?? undefined;
    if (url !== undefined && typeof url !== 'string')
      throw new InvalidRequest(`endpoint ${i}: url must be a string`);
    const name = endpointName(item.name, i);
    if (url === undefined && name === undefined)
      throw new InvalidRequest(`endpoint ${i}: give its url or its name`);
    return { ...(name !== undefined ? { name } : {}), ...(url !== undefined ? { url } : {}) };
  });
}

const describeRef = (ref: { name?: string; url?: string }) =>
  [
    ...(ref.url !== undefined ? [`url "${ref.url}"`] : []),
    ...(ref.name !== undefined ? [`name "${ref.name}"`] : []),
  ].join(' and ');

/** `current`'s endpoints with `given` added, checked whole; throws `InvalidRequest`. */
function withEndpoints(name: string, current: Endpoint[], given: Endpoint[]): Endpoint[] {
  const next = current.map((e) => ({ ...e }));
  for (const e of given) {
    const same = next.find((x) => x.url === e.url);
    if (same === undefined) next.push({ ...e });
    else if (e.name !== undefined) same.name = e.name;
  }
  if (next.length > MAX_ENDPOINTS)
    throw new InvalidRequest(`a url group holds at most ${MAX_ENDPOINTS} endpoints`);
  const urlsByName = new Map<string, string>();
  for (const e of next) {
    if (e.name === undefined) continue;
    const other = urlsByName.get(e.name);
    if (other !== undefined && other !== e.url) {
      throw new InvalidRequest(
        `endpoint name "${e.name}" would name both "${other}" and "${e.url}" in url group "${name}"`,
      );
    }
    urlsByName.set(e.name, e.url);
  }
  return next;
}

/**
 * QStash URL groups (once called topics): named lists of endpoints, kept in the records (this
 * process's memory, or Redis shared by every server). A publish to a group becomes one message
 * per endpoint (`publishesTo`). Every change is checked whole first: bad input throws
 * `InvalidRequest` and changes nothing. A change is a compare-and-set on the group's document
 * (`updateRecord`), so two servers adding endpoints to one group at once keep both's.
 *
 * Methods answer at once on memory records and with promises on Redis ones.
 */
export class UrlGroups {
  private readonly groups: Collection<UrlGroup>;

  constructor(
    private readonly clock: Clock,
    records: Records,
  ) {
    this.groups = records.collection('url-groups', jsonCodec<UrlGroup>());
  }

  /**
   * Adds endpoints to the group, creating it. An endpoint whose URL the group already has is
   * updated (its name, when one is given) rather than added twice.
   */
  addEndpoints(name: string, rawEndpoints: unknown): MaybePromise<UrlGroup> {
    checkGroupName(name);
    const given = parseEndpoints(rawEndpoints);
    const now = this.clock.now();
    return updateRecord(this.groups, name, (current) => {
      const group: UrlGroup = {
        name,
        createdAt: current?.createdAt ?? now,
        updatedAt: now,
        endpoints: withEndpoints(name, current?.endpoints ?? [], given),
      };
      return { next: group, result: group };
    });
  }

  /**
   * Removes the endpoints matching each reference (by url, by name, or by both); a group left
   * with none is deleted, as QStash does. Undefined when the group is unknown; a reference that
   * matches no endpoint throws `InvalidRequest`.
   */
  removeEndpoints(name: string, rawRefs: unknown): MaybePromise<UrlGroup | undefined> {
    const now = this.clock.now();
    let parsed: Array<{ name?: string; url?: string }> | undefined;
    const matches = (ref: { name?: string; url?: string }, e: Endpoint) =>
      (ref.url === undefined || ref.url === e.url) &&
      (ref.name === undefined || ref.name === e.name);
    return updateRecord(this.groups, name, (current) => {
      if (current === undefined) return { next: undefined, result: undefined };
      // Read only for a known group: an unknown one is undefined whatever the references.
      const refs = (parsed ??= parseEndpointRefs(rawRefs));
      for (const ref of refs) {
        if (!current.endpoints.some((e) => matches(ref, e)))
          throw new InvalidRequest(`url group "${name}" has no endpoint with ${describeRef(ref)}`);
      }
      const group: UrlGroup = {
        ...current,
        updatedAt: now,
        endpoints: current.endpoints.filter((e) => !refs.some((ref) => matches(ref, e))),
      };
      return { next: group.endpoints.length === 0 ? undefined : group, result: group };
    });
  }

  /** A copy: changing it changes nothing stored. */
  get(name: string): MaybePromise<UrlGroup | undefined> {
    return this.groups.get(name);
  }

  /** Every group, in creation order. */
  list(): MaybePromise<UrlGroup[]> {
    return this.groups.list();
  }

  /** False when unknown. Messages already published to it go on. */
  delete(name: string): MaybePromise<boolean> {
    return this.groups.delete(name);
  }

  /**
   * A publish to the group read as one publish per endpoint, each exactly as a publish to the
   * endpoint's URL with the same headers and body, and marked with the group's name. Every one is
   * parsed before the caller publishes any, so a bad header refuses them all. Undefined when the
   * group is unknown. One read of the records (every publish to a group pays it).
   */
  publishesTo(
    name: string,
    headers: HeaderBag,
    body: Uint8Array | string | undefined,
    now: Millis,
  ): MaybePromise<ParsedPublish[] | undefined> {
    return after(this.groups.get(name), (group) =>
      group?.endpoints.map((e) => ({
        ...parsePublish(e.url, headers, body, now),
        urlGroup: name,
      })),
    );
  }
}
