import type { LogQuery, Logs } from '../flow/delivery-logs';
import { after, type MaybePromise } from '../store/flow-store';
import { HttpError, ok, type Reply } from './respond';

/** Most entries one `GET /v2/events` returns (QStash's own limit), and the default. */
const MAX_COUNT = 1000;
const DEFAULT_COUNT = 100;
/** Filters QStash has that Baton has nothing to match with. */
const UNSUPPORTED = ['scheduleId', 'queueName', 'callerIp'];

function wholeNumber(q: URLSearchParams, name: string): number | undefined {
  const raw = q.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw new HttpError(400, `${name} must be a whole number, got "${raw}"`);
  return Number(raw);
}

/** `GET /v2/events` (the official client's `logs()`): every state each message went through. */
export function logsHandler(logs: Logs) {
  return (q: URLSearchParams): MaybePromise<Reply> => {
    for (const name of UNSUPPORTED) {
      if (q.has(name))
        throw new HttpError(400, `filtering logs by ${name} is not supported by Baton`);
    }
    const count = wholeNumber(q, 'count') ?? DEFAULT_COUNT;
    if (count < 1 || count > MAX_COUNT)
      throw new HttpError(400, `count must be from 1 to ${MAX_COUNT}, got ${count}`);
    const query: LogQuery = {
      messageIds: [...q.getAll('messageIds'), ...q.getAll('messageId')],
      states: q.getAll('state'),
      urls: q.getAll('url'),
      hosts: q.getAll('host'),
      paths: q.getAll('path'),
      flowControlKeys: q.getAll('flowControlKey'),
      labels: q.getAll('label'),
      topicNames: [...q.getAll('topicName'), ...q.getAll('urlGroup')],
      count,
    };
    const from = wholeNumber(q, 'fromDate');
    const to = wholeNumber(q, 'toDate');
    const cursor = wholeNumber(q, 'cursor');
    if (from !== undefined) query.fromDate = from;
    if (to !== undefined) query.toDate = to;
    if (cursor !== undefined) query.cursor = cursor;
    return after(logs.query(query), ok);
  };
}
