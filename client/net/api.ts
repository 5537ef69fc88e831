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
  const token = pageToken();
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`/v2/publish/${destination}`, {
    method: 'POST',
    headers,
    body: options.body,
  });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as { messageId: string };
}
