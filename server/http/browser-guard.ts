import { isIP } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

/**
 * Keeps a web page of another origin from driving Baton through a developer's browser.
 *
 * - **Origin**: a request whose `Origin` is not Baton's own (its host and port equal the request's
 *   `Host`) is refused, unless `--allowed-origins` names it (`*`: any). A cross-site simple POST (a
 *   form, or `fetch` with `mode: 'no-cors'`) needs no preflight, so this check, not CORS, is what
 *   stops it. Requests without an `Origin` (the official clients, curl, other servers) pass.
 * - **Host** (DNS rebinding: a page whose own name is re-pointed at 127.0.0.1 is same-origin with
 *   itself, so only the name it sends in `Host` gives it away): the name must be one that cannot be
 *   rebound — an IP literal, `localhost` (or a `*.localhost`, which browsers resolve to loopback
 *   themselves) — or the name Baton was started on, or one in `--allowed-hosts` (`*`: any). The port
 *   is not compared: a rebinding page uses its own name whatever the port, and behind a port mapping
 *   or a proxy the port a client sees is not the one Baton listens on.
 *
 * Both answer 403 `{"error"}`. An origin let through gets CORS headers, so a page there can also
 * read the answers and send the token.
 */
export interface BrowserGuardOptions {
  /** Origins besides Baton's own that may send requests (`scheme://host[:port]`), or `*`. */
  allowedOrigins?: readonly string[];
  /** Host names besides IP literals and localhost that requests may address, or `*`. */
  allowedHosts?: readonly string[];
}

export interface BrowserGuard {
  /** Why `req` is refused, or undefined when it may go on. */
  refusal(req: IncomingMessage): string | undefined;
  /** Express middleware: refuses, answers CORS preflights, sets security and CORS headers. */
  middleware(req: Request, res: Response, next: NextFunction): void;
  /**
   * Engine.IO middleware (`io.engine.use`): the same check on every Socket.IO request, the
   * handshake and the WebSocket upgrade included. Used rather than `allowRequest`, which sees
   * the handshake only and answers a refusal as `{"code","message"}` (an upgrade as text/html).
   */
  socketMiddleware(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void;
}

/**
 * The dashboard's own headers. The built Vite app is one module script and one stylesheet from
 * `/assets`, fonts beside them, the favicon a `data:` URI, and the API and socket on this origin;
 * React and d3 set styles through the DOM (`element.style`), which `style-src 'self'` allows.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  // The dashboard may be opened as `/?token=…`: no page it links to learns the address.
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const CORS_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';

/** `https://Example.com:443/` → `https://example.com`; undefined when it is not an origin. */
export function normalizeOrigin(raw: string): string | undefined {
  const t = raw.trim();
  if (t === '*' || t === 'null') return t;
  let url: URL;
  try {
    url = new URL(t);
  } catch {
    return undefined;
  }
  if (url.origin === 'null' || url.username !== '' || url.password !== '') return undefined;
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') return undefined;
  return url.origin;
}

/** `Example.com:8080` → `example.com`; `[::1]:80` → `[::1]`; undefined when it is not a host. */
export function hostName(raw: string): string | undefined {
  const t = raw.trim();
  if (t === '' || /[\s/?#@\\]/.test(t)) return undefined;
  try {
    return new URL(`http://${t}`).hostname;
  } catch {
    return undefined;
  }
}

function isUnrebindable(name: string): boolean {
  const bare = name.startsWith('[') ? name.slice(1, -1) : name;
  return isIP(bare) !== 0 || name === 'localhost' || name.endsWith('.localhost');
}

const defaultPort = (protocol: string) => (protocol === 'https:' ? '443' : '80');

/** Whether `origin` names the host the request was sent to (scheme aside: a TLS proxy may sit in front). */
function isSameOrigin(origin: URL, host: string): boolean {
  let target: URL;
  try {
    target = new URL(`${origin.protocol}//${host}`);
  } catch {
    return false;
  }
  return (
    origin.hostname === target.hostname &&
    (origin.port || defaultPort(origin.protocol)) === (target.port || defaultPort(origin.protocol))
  );
}

const firstHeader = (v: string | string[] | undefined): string | undefined =>
  Array.isArray(v) ? v[0] : v;

export function createBrowserGuard(options: BrowserGuardOptions = {}): BrowserGuard {
  const origins = new Set<string>();
  for (const o of options.allowedOrigins ?? []) {
    const n = normalizeOrigin(o);
    if (n === undefined) throw new Error(`allowed origin "${o}" is not scheme://host[:port] or *`);
    origins.add(n);
  }
  const hosts = new Set<string>();
  for (const h of options.allowedHosts ?? []) {
    const n = h.trim() === '*' ? '*' : hostName(h);
    if (n === undefined) throw new Error(`allowed host "${h}" is not a host name or *`);
    hosts.add(n);
  }

  function hostRefusal(req: IncomingMessage): string | undefined {
    const raw = req.headers.host;
    // HTTP/1.1 without a Host never reaches here (Node answers 400); HTTP/1.0 is no browser's.
    if (raw === undefined || hosts.has('*')) return undefined;
    const name = hostName(raw);
    if (name !== undefined && (isUnrebindable(name) || hosts.has(name))) return undefined;
    return (
      `Host "${raw.slice(0, 200)}" is not a name this Baton answers to; ` +
      `start it with --allowed-hosts ${name ?? '<name>'} to allow it`
    );
  }

  /** The origin a foreign request comes from when it is let through; undefined for none or own. */
  function foreignOrigin(req: IncomingMessage): { allowed: boolean; origin?: string } {
    const raw = firstHeader(req.headers.origin);
    if (raw === undefined) return { allowed: true };
    if (raw !== 'null') {
      let url: URL | undefined;
      try {
        url = new URL(raw);
      } catch {
        url = undefined;
      }
      if (
        url !== undefined &&
        req.headers.host !== undefined &&
        isSameOrigin(url, req.headers.host)
      )
        return { allowed: true };
    }
    const n = normalizeOrigin(raw);
    if (origins.has('*') || (n !== undefined && origins.has(n)))
      return { allowed: true, origin: raw };
    return { allowed: false };
  }

  function refusal(req: IncomingMessage): string | undefined {
    const host = hostRefusal(req);
    if (host !== undefined) return host;
    if (!foreignOrigin(req).allowed) {
      const raw = firstHeader(req.headers.origin) ?? '';
      return (
        `requests from the origin "${raw.slice(0, 200)}" are refused: it is not this Baton's own; ` +
        'start it with --allowed-origins <origin> to allow a page there to use it'
      );
    }
    return undefined;
  }

  function corsHeaders(req: IncomingMessage): Record<string, string> {
    const origin = foreignOrigin(req).origin;
    if (origin === undefined) return {};
    return { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' };
  }

  function preflightHeaders(req: IncomingMessage): Record<string, string> | undefined {
    if (req.method !== 'OPTIONS' || req.headers['access-control-request-method'] === undefined)
      return undefined;
    const cors = corsHeaders(req);
    const asked = firstHeader(req.headers['access-control-request-headers']);
    return {
      ...cors,
      'Access-Control-Allow-Methods': CORS_METHODS,
      ...(asked === undefined ? {} : { 'Access-Control-Allow-Headers': asked }),
      'Access-Control-Max-Age': '600',
    };
  }

  return {
    refusal,
    middleware(req, res, next) {
      res.set(SECURITY_HEADERS);
      const reason = refusal(req);
      if (reason !== undefined) {
        res.status(403).json({ error: reason });
        return;
      }
      const preflight = preflightHeaders(req);
      if (preflight !== undefined) {
        res.set(preflight).status(204).end();
        return;
      }
      res.set(corsHeaders(req));
      next();
    },
    socketMiddleware(req, res, next) {
      const reason = refusal(req);
      if (reason === undefined) {
        const preflight = preflightHeaders(req);
        // Engine.IO answers only GET and POST: a preflight is answered here.
        if (preflight !== undefined) {
          res.writeHead(204, preflight).end();
          return;
        }
        for (const [name, value] of Object.entries(corsHeaders(req))) res.setHeader(name, value);
        next();
        return;
      }
      const body = JSON.stringify({ error: reason });
      if (!isUpgrade(req)) {
        res.writeHead(403, {
          'Content-Type': 'application/json; charset=utf-8',
          'Content-Length': Buffer.byteLength(body),
        });
        res.end(body);
      } else if (req.socket.writable) {
        // An upgrade has no ServerResponse (Engine.IO passes a stand-in): answer on the socket.
        req.socket.end(
          'HTTP/1.1 403 Forbidden\r\nContent-Type: application/json; charset=utf-8\r\n' +
            `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      }
      // `next` is not called: the request is answered, and Engine.IO does nothing more with it.
    },
  };
}

const isUpgrade = (req: IncomingMessage) =>
  (firstHeader(req.headers.upgrade) ?? '').toLowerCase() === 'websocket';
