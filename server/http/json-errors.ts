import { STATUS_CODES, maxHeaderSize, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';

/**
 * Every error Baton answers is JSON `{"error": …}`, from whichever layer finds it: Node's HTTP
 * parser (here, before any request exists), Express outside the API (an unknown path, a
 * malformed percent-escape in a dashboard path), or the API's own handlers (server/http/router.ts).
 */

/** The raw HTTP response for an error found before a request object exists. */
function rawJsonResponse(status: number, error: string): string {
  const body = JSON.stringify({ error });
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/**
 * Answers what Node's HTTP parser refuses (a malformed request line or header, headers over the
 * limit, a request that took too long to arrive) with JSON instead of Node's bare status line.
 * Statuses as Node's own default handler chooses them.
 */
export function answerClientErrorsAsJson(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Nothing can be said on a connection already reset, or once a response has begun.
    if (err.code === 'ECONNRESET' || !socket.writable || socket.bytesWritten > 0) {
      socket.destroy();
      return;
    }
    let status = 400;
    let error = `malformed HTTP request (${err.code ?? err.message})`;
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      error = `request headers are larger than the limit of ${maxHeaderSize} bytes`;
    } else if (err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') {
      status = 413;
      error = 'chunk extensions are too large';
    } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      error = 'the request took too long to arrive';
    }
    socket.end(rawJsonResponse(status, error));
  });
}

/** Express's last word outside the API: an unknown path or method is a JSON 404. */
export function jsonNotFound(req: Request, _res: Response, next: NextFunction): void {
  next(httpError(404, `no route for ${req.method} ${req.originalUrl.split('?')[0]}`));
}

function httpError(status: number, message: string): Error & { status: number } {
  return Object.assign(new Error(message), { status });
}

/** Express's error handler outside the API: a 4xx keeps its status, anything else is a 500. */
export function jsonErrorHandler(log: Logger) {
  return (err: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    const e = err as { status?: number; statusCode?: number; message?: string };
    const status = e.status ?? e.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const error =
        err instanceof URIError
          ? `malformed percent-escape in "${res.req.originalUrl.split('?')[0]!.slice(0, 200)}"`
          : (e.message ?? STATUS_CODES[status] ?? 'bad request');
      res.status(status).json({ error });
      return;
    }
    log.error({ err }, 'unhandled error');
    res.status(500).json({ error: 'internal error' });
  };
}
