import type { LoggedMessage } from '../flow/message-log';
import { HttpError } from './respond';

/**
 * What the official clients send to pick messages for a bulk call (`messages.cancel`,
 * `dlq.delete`, `dlq.list`): every field may repeat (any value matches). A filter Baton cannot
 * apply is refused, never ignored: ignoring one would widen the call to every message.
 */
export interface MessageFilter {
  flowControlKeys: string[];
  labels: string[];
  urls: string[];
  topicNames: string[];
  scheduleIds: string[];
  queueNames: string[];
  hosts: string[];
  paths: string[];
  responseStatuses: number[];
  fromDate?: number;
  toDate?: number;
}

/** A bulk call's selection: named ids, a filter, or everything (asked for by name). */
export interface Selection {
  ids: string[];
  filter: MessageFilter;
  /** True when the call named no id and no filter field: it acts on every message. */
  all: boolean;
  count: number;
}

const FILTER_FIELDS = [
  'flowControlKey',
  'label',
  'url',
  'topicName',
  'scheduleId',
  'queueName',
  'host',
  'path',
  'fromDate',
  'toDate',
] as const;

/** Filters the clients can send that Baton has no record to match on. */
const NOT_RECORDED: Record<string, string> = {
  callerIp: 'Baton does not record the caller IP of a message',
  api: 'Baton has no API-specific messages (`api`)',
};

/** Most messages one bulk call acts on when it gives no `count` (the clients' default). */
export const DEFAULT_BULK_COUNT = 100;

/**
 * Reads a bulk call's query. `idsParam` names its id list (`messageIds` or `dlqIds`); `extra` are
 * further parameters the caller reads itself. `all=true` or a bare `count` (the clients' form of
 * `{ all: true }`) selects everything; a query naming nothing at all is refused.
 */
export function parseSelection(
  q: URLSearchParams,
  idsParam: 'messageIds' | 'dlqIds',
  extra: readonly string[] = [],
): Selection {
  const known = new Set<string>([idsParam, ...FILTER_FIELDS, 'count', 'cursor', 'all', ...extra]);
  if (idsParam === 'dlqIds') known.add('responseStatus');
  for (const name of q.keys()) {
    const why = NOT_RECORDED[name];
    if (why !== undefined) throw new HttpError(400, `filter "${name}" cannot be applied: ${why}`);
    if (!known.has(name)) throw new HttpError(400, `unknown filter "${name}"`);
  }
  const date = (name: 'fromDate' | 'toDate'): number | undefined => {
    const raw = q.get(name);
    if (raw === null) return undefined;
    if (!/^\d+$/.test(raw))
      throw new HttpError(400, `${name} must be unix milliseconds, got "${raw}"`);
    return Number(raw);
  };
  const statuses = q.getAll('responseStatus').map((raw) => {
    if (!/^\d{3}$/.test(raw))
      throw new HttpError(400, `responseStatus must be an HTTP status, got "${raw}"`);
    return Number(raw);
  });
  const countRaw = q.get('count');
  if (countRaw !== null && !/^\d+$/.test(countRaw))
    throw new HttpError(400, `count must be a whole number, got "${countRaw}"`);
  const allRaw = q.get('all');
  if (allRaw !== null && allRaw !== 'true')
    throw new HttpError(400, `all must be true, got "${allRaw}"`);
  const filter: MessageFilter = {
    flowControlKeys: q.getAll('flowControlKey'),
    labels: q.getAll('label'),
    urls: q.getAll('url'),
    topicNames: q.getAll('topicName'),
    scheduleIds: q.getAll('scheduleId'),
    queueNames: q.getAll('queueName'),
    hosts: q.getAll('host'),
    paths: q.getAll('path'),
    responseStatuses: statuses,
  };
  const from = date('fromDate');
  if (from !== undefined) filter.fromDate = from;
  const to = date('toDate');
  if (to !== undefined) filter.toDate = to;
  const ids = q.getAll(idsParam);
  const filtered = FILTER_FIELDS.some((f) => q.has(f)) || statuses.length > 0;
  if (ids.length > 0 && filtered)
    throw new HttpError(400, `${idsParam} cannot be combined with a filter`);
  return {
    ids,
    filter,
    all: ids.length === 0 && !filtered,
    count: countRaw === null ? DEFAULT_BULK_COUNT : Number(countRaw),
  };
}

/** Whether a bulk call that named nothing (no ids, no filter) asked for everything by name. */
export function askedForAll(q: URLSearchParams): boolean {
  return q.get('all') === 'true' || q.has('count');
}

export function matchesMessage(m: LoggedMessage, f: MessageFilter): boolean {
  const any = <T>(list: T[], value: T | undefined) =>
    list.length === 0 || (value !== undefined && list.includes(value));
  const url = m.payload.destination;
  if (!any(f.flowControlKeys, m.flowControlKey ?? undefined)) return false;
  if (f.labels.length > 0 && !(m.label ?? '').split(',').some((l) => f.labels.includes(l)))
    return false;
  if (!any(f.urls, url)) return false;
  if (!any(f.topicNames, m.urlGroup)) return false;
  if (!any(f.scheduleIds, m.payload.headers['upstash-schedule-id'])) return false;
  if (f.queueNames.length > 0 && !f.queueNames.some((q) => m.flowControlKey === `queue:${q}`))
    return false;
  if (f.hosts.length > 0 || f.paths.length > 0) {
    if (!URL.canParse(url)) return false;
    const u = new URL(url);
    if (!any(f.hosts, u.host) || !any(f.paths, u.pathname)) return false;
  }
  if (f.responseStatuses.length > 0) {
    const last = m.attempts[m.attempts.length - 1];
    if (!any(f.responseStatuses, last?.status)) return false;
  }
  if (f.fromDate !== undefined && m.createdAt < f.fromDate) return false;
  if (f.toDate !== undefined && m.createdAt > f.toDate) return false;
  return true;
}
