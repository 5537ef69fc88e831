/** What a framework-free handler answers; the Express adapter writes it. */
export interface Reply {
  status: number;
  body?: unknown;
}

export const ok = (body?: unknown): Reply => ({ status: 200, body });
export const badRequest = (error: string): Reply => ({ status: 400, body: { error } });
export const notFound = (error: string): Reply => ({ status: 404, body: { error } });

/** Bad input found while handling a request: becomes a 4xx `{"error": …}` and changes nothing. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
