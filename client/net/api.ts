/**
 * The dashboard's calls to Baton's public HTTP API: the same endpoints, headers and answers as
 * `curl` or the official QStash clients get. Nothing here is private to the UI.
 */
import { pageToken } from './auth';

export interface PublishOptions {
  /** `Upstash-Flow-Control-Key`. */
  key?: string;
  /** `Upstash-Flow-Control-Value`, e.g. `parallelism=2, rate=10, period=1s`. */
  value?: string;
  body?: string;
}

/** A non-2xx answer, with the server's `{"error"}` text. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { error?: unknown };
    if (typeof body.error === 'string') message = body.error;
  } catch {
    // Not JSON (a proxy's error page, say): the status line says enough.
  }
  return new ApiError(res.status, message);
}

function authHeaders(): Record<string, string> {
  const token = pageToken();
  return token === undefined ? {} : { Authorization: `Bearer ${token}` };
}

/**
 * Publishes one message: `POST /v2/publish/<destination>`. The destination goes into the path
 * unencoded, query string included, exactly as the QStash clients send it.
 */
export async function publish(
  destination: string,
  options: PublishOptions = {},
): Promise<{ messageId: string }> {
  const headers: Record<string, string> = {};
  if (options.key !== undefined) headers['Upstash-Flow-Control-Key'] = options.key;
  if (options.value !== undefined) headers['Upstash-Flow-Control-Value'] = options.value;
  const res = await fetch(`/v2/publish/${destination}`, {
    method: 'POST',
    headers: { ...headers, ...authHeaders() },
    body: options.body,
  });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as { messageId: string };
}

/** One message of a `POST /v2/batch`. */
export interface BatchItem {
  destination: string;
  headers?: Record<string, string>;
  body?: string;
}

/** Publishes several messages in one request (`POST /v2/batch`), accepted in order. */
export async function publishBatch(items: readonly BatchItem[]): Promise<{ messageId: string }[]> {
  const res = await fetch('/v2/batch', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...authHeaders() },
    body: JSON.stringify(items),
  });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as { messageId: string }[];
}

async function keyAction(key: string, action: string, query = ''): Promise<void> {
  const res = await fetch(
    `/v2/flowControl/${encodeURIComponent(key)}/${action}${query === '' ? '' : `?${query}`}`,
    { method: 'POST', headers: authHeaders() },
  );
  if (!res.ok) throw await errorOf(res);
}

/** `POST /v2/flowControl/{key}/pause`: no new starts until resumed. */
export const pauseKey = (key: string) => keyAction(key, 'pause');

/** `POST /v2/flowControl/{key}/resume`. */
export const resumeKey = (key: string) => keyAction(key, 'resume');

/** `POST /v2/flowControl/{key}/resetRate`: zero the window's count, start a new window now. */
export const resetRate = (key: string) => keyAction(key, 'resetRate');

export interface PinOptions {
  parallelism?: number;
  rate?: number;
  /** Whole seconds, as the API takes it. */
  periodSeconds?: number;
}

/** `POST /v2/flowControl/{key}/pin?parallelism=&rate=&period=`: messages no longer change these. */
export function pinKey(key: string, pin: PinOptions): Promise<void> {
  const q = new URLSearchParams();
  if (pin.parallelism !== undefined) q.set('parallelism', String(pin.parallelism));
  if (pin.rate !== undefined) q.set('rate', String(pin.rate));
  if (pin.periodSeconds !== undefined) q.set('period', String(pin.periodSeconds));
  return keyAction(key, 'pin', q.toString());
}

/** `POST /v2/flowControl/{key}/unpin?parallelism=true&rate=true`. */
export function unpinKey(
  key: string,
  what: { parallelism: boolean; rate: boolean },
): Promise<void> {
  const q = new URLSearchParams();
  if (what.parallelism) q.set('parallelism', 'true');
  if (what.rate) q.set('rate', 'true');
  return keyAction(key, 'unpin', q.toString());
}

/** A message as `GET /v2/messages/{id}` describes it (the fields the dashboard shows). */
export interface MessageInfo {
  messageId: string;
  state: string;
  retried: number;
  createdAt: number;
  url: string;
}

/** `GET /v2/messages/{id}`. */
export async function getMessage(id: string): Promise<MessageInfo> {
  const res = await fetch(`/v2/messages/${encodeURIComponent(id)}`, { headers: authHeaders() });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as MessageInfo;
}
