import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Receiver } from '@upstash/qstash';
import { io as connectSocket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createDeliverySigner, DEV_SIGNING_KEYS } from '../delivery/signature';
import { tokenChecker } from '../http/token';
import { startDestination } from './destination';
import { runMain as startMain } from './main-process';
import { collectEvents, startApp, type Running } from './helpers';

const OPERATOR_KEYS = { current: 'sig_operator_current_1234', next: 'sig_operator_next_5678' };

let cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function start(options: Parameters<typeof startApp>[0] = {}): Promise<Running> {
  const server = await startApp(options);
  cleanup.push(() => server.close());
  return server;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json(): unknown;
}

/** One request with exactly these headers (fetch will not send a `Host` of our choosing). */
function send(
  base: string,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, method, path: target, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          json: () => JSON.parse(text) as unknown,
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Writes raw bytes on a fresh connection and resolves with everything the server answers. */
function rawExchange(base: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(port), hostname, () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

/** A raw HTTP answer's status and JSON body. */
function parseRaw(raw: string): { status: number; contentType: string; body: unknown } {
  const [head, body] = raw.split('\r\n\r\n', 2) as [string, string];
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const contentType = /^content-type:\s*(.*)$/im.exec(head)?.[1] ?? '';
  return { status, contentType, body: JSON.parse(body) };
}

const errorBody = (answer: Answer) => {
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  const body = answer.json() as { error?: unknown };
  expect(typeof body.error).toBe('string');
  return body.error as string;
};

describe('signing keys are the operator’s', () => {
  it('answers GET /v2/keys with the operator’s keys, to an authorized caller only', async () => {
    const server = await start({ signingKeys: OPERATOR_KEYS, token: 's3cret' });
    const refused = await fetch(`${server.base}/v2/keys`);
    expect(refused.status).toBe(401);
    const keys = await fetch(`${server.base}/v2/keys`, {
      headers: { Authorization: 'Bearer s3cret' },
    });
    expect(await keys.json()).toEqual(OPERATOR_KEYS);
  });

  it('signs deliveries with the current key: the official Receiver accepts them and refuses a signature forged with the development key', async () => {
    const server = await start({ signingKeys: OPERATOR_KEYS });
    const dest = await startDestination();
    cleanup.push(() => dest.close());
    const delivered = collectEvents(server.app, (e) => e.type === 'message:delivered', 1);
    const client = new Client({ baseUrl: server.base, token: 'any' });
    const url = `${dest.url}/work`;
    await client.publishJSON({ url, body: { job: 1 } });
    await delivered;
    const r = dest.received[0]!;
    const receiver = new Receiver({
      currentSigningKey: OPERATOR_KEYS.current,
      nextSigningKey: OPERATOR_KEYS.next,
    });
    const signature = r.headers['upstash-signature'] as string;
    await expect(receiver.verify({ signature, body: r.body, url })).resolves.toBe(true);

    // What anyone holding the public development key could send to the same endpoint.
    const forged = createDeliverySigner(DEV_SIGNING_KEYS.current)(url, r.body, Date.now());
    await expect(receiver.verify({ signature: forged, body: r.body, url })).rejects.toThrow();
    // And the development keys no longer verify Baton's own deliveries.
    const devReceiver = new Receiver({
      currentSigningKey: DEV_SIGNING_KEYS.current,
      nextSigningKey: DEV_SIGNING_KEYS.next,
    });
    await expect(devReceiver.verify({ signature, body: r.body, url })).rejects.toThrow();
  });

  it('takes the keys from QSTASH_CURRENT_SIGNING_KEY / QSTASH_NEXT_SIGNING_KEY, and warns at start when none are set', async () => {
    const [withKeys, without] = await Promise.all([
      runMain([], {
        QSTASH_CURRENT_SIGNING_KEY: OPERATOR_KEYS.current,
        QSTASH_NEXT_SIGNING_KEY: OPERATOR_KEYS.next,
      }),
      runMain([], {}),
    ]);
    expect(await (await fetch(`${withKeys.base}/v2/keys`)).json()).toEqual(OPERATOR_KEYS);
    expect(withKeys.log()).not.toMatch(/no signing keys set/);

    expect(await (await fetch(`${without.base}/v2/keys`)).json()).toEqual(DEV_SIGNING_KEYS);
    const warning = without
      .log()
      .split('\n')
      .map((line) =>
        line.startsWith('{') ? (JSON.parse(line) as { level: number; msg: string }) : null,
      )
      .find((entry) => entry?.msg.startsWith('no signing keys set'));
    expect(warning?.level).toBe(40); // pino's warn
  }, 30_000);
});

/** `server/main.ts` as an operator starts it, on a free port; stopped after the test. */
async function runMain(args: string[], env: Record<string, string>) {
  const main = await startMain(args, env);
  cleanup.push(() => main.stop());
  return main;
}

describe('browser safety', () => {
  it('refuses a cross-origin POST, and it changes nothing', async () => {
    const server = await start();
    await fetch(`${server.base}/v2/flowControl/k/pin?parallelism=2`, { method: 'POST' });
    // What a page on another site can send without a preflight: a form post.
    const formPost = await send(
      server.base,
      'POST',
      '/v2/flowControl/k/pause',
      { Origin: 'http://evil.example', 'Content-Type': 'application/x-www-form-urlencoded' },
      'a=1',
    );
    expect(formPost.status).toBe(403);
    expect(errorBody(formPost)).toMatch(/origin "http:\/\/evil\.example".*--allowed-origins/);
    const publish = await send(
      server.base,
      'POST',
      '/v2/publish/http://169.254.169.254/latest',
      { Origin: 'http://evil.example', 'Content-Type': 'text/plain' },
      'hello',
    );
    expect(publish.status).toBe(403);

    const key = (await (await fetch(`${server.base}/v2/flowControl/k`)).json()) as {
      isPaused: boolean;
    };
    expect(key.isPaused).toBe(false);
    expect((await server.app.controller.snapshot()).engine.stats.accepted).toBe(0);
  });

  it('lets a same-origin request and one without an Origin through', async () => {
    const server = await start();
    const own = await send(server.base, 'POST', '/v2/flowControl/k/pause', {
      Origin: server.base,
    });
    expect(own.status).toBe(200);
    const noOrigin = await fetch(`${server.base}/v2/flowControl/k/resume`, { method: 'POST' });
    expect(noOrigin.status).toBe(200);
    // The dashboard opened at localhost rather than 127.0.0.1 is its own origin too.
    const port = new URL(server.base).port;
    const alias = await send(server.base, 'GET', '/v2/flowControl', {
      Host: `localhost:${port}`,
      Origin: `http://localhost:${port}`,
    });
    expect(alias.status).toBe(200);
  });

  it('refuses a Host that is not a name Baton answers to (DNS rebinding)', async () => {
    const server = await start();
    const port = new URL(server.base).port;
    // A page at http://rebound.example:<port>, its name re-pointed at 127.0.0.1: same-origin to
    // the browser, so only its Host gives it away.
    const rebinding: Array<Record<string, string>> = [
      { Host: `rebound.example:${port}` },
      { Host: `rebound.example:${port}`, Origin: `http://rebound.example:${port}` },
    ];
    for (const headers of rebinding) {
      const answer = await send(server.base, 'GET', '/v2/flowControl', headers);
      expect(answer.status).toBe(403);
      expect(errorBody(answer)).toMatch(
        /Host "rebound\.example:\d+".*--allowed-hosts rebound\.example/,
      );
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost']) {
      expect((await send(server.base, 'GET', '/healthz', { Host: host })).status).toBe(200);
    }
  });

  it('lets a named origin through with --allowed-origins, with CORS headers and a preflight answer', async () => {
    const server = await start({ allowedOrigins: ['http://tools.example:3000'] });
    const allowed = await send(server.base, 'POST', '/v2/flowControl/k/pause', {
      Origin: 'http://tools.example:3000',
    });
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe('http://tools.example:3000');
    const preflight = await send(server.base, 'OPTIONS', '/v2/publish/sim://x', {
      Origin: 'http://tools.example:3000',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization, upstash-flow-control-key',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('http://tools.example:3000');
    expect(preflight.headers['access-control-allow-headers']).toBe(
      'authorization, upstash-flow-control-key',
    );
    const other = await send(server.base, 'POST', '/v2/flowControl/k/resume', {
      Origin: 'http://tools.example:3001',
    });
    expect(other.status).toBe(403);

    const any = await start({ allowedOrigins: ['*'] });
    expect(
      (await send(any.base, 'GET', '/v2/flowControl', { Origin: 'https://anywhere.example' }))
        .status,
    ).toBe(200);
  });

  it('lets a named host through with --allowed-hosts', async () => {
    const server = await start({ allowedHosts: ['baton.internal'] });
    const answer = await send(server.base, 'GET', '/v2/flowControl', {
      Host: 'baton.internal:8080',
    });
    expect(answer.status).toBe(200);
    expect(
      (await send(server.base, 'GET', '/v2/flowControl', { Host: 'other.internal' })).status,
    ).toBe(403);
  });

  it('guards the Socket.IO handshake: a foreign origin is refused, polling and WebSocket alike', async () => {
    const server = await start();
    const polling = await send(server.base, 'GET', '/socket.io/?EIO=4&transport=polling', {
      Origin: 'http://evil.example',
    });
    expect(polling.status).toBe(403);
    expect(errorBody(polling)).toMatch(/evil\.example/);

    const port = new URL(server.base).port;
    const upgrade = parseRaw(
      await rawExchange(
        server.base,
        'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n' +
          `Host: 127.0.0.1:${port}\r\nOrigin: http://evil.example\r\n` +
          'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      ),
    );
    expect(upgrade.status).toBe(403);
    expect(upgrade.contentType).toMatch(/^application\/json/);
    expect(upgrade.body).toHaveProperty('error');

    // The official client, from the page's own origin and from a foreign one.
    const connects = (origin: string, transport: 'polling' | 'websocket') =>
      new Promise<boolean>((resolve) => {
        const socket = connectSocket(server.base, {
          transports: [transport],
          extraHeaders: { Origin: origin },
          reconnection: false,
        });
        socket.on('connect', () => {
          socket.close();
          resolve(true);
        });
        socket.on('connect_error', () => {
          socket.close();
          resolve(false);
        });
      });
    for (const transport of ['polling', 'websocket'] as const) {
      expect(await connects(server.base, transport)).toBe(true);
      expect(await connects('http://evil.example', transport)).toBe(false);
    }
  });

  it('checks the token on the API and the socket', async () => {
    const server = await start({ token: 's3cret' });
    for (const given of ['', 's3cre', 's3cret-and-more', 'S3CRET']) {
      const res = await fetch(`${server.base}/v2/flowControl`, {
        headers: { Authorization: `Bearer ${given}` },
      });
      expect(res.status).toBe(401);
    }
    const ok = await fetch(`${server.base}/v2/flowControl?qstash_token=s3cret`);
    expect(ok.status).toBe(200);
    const socketWith = (token: string) =>
      new Promise<boolean>((resolve) => {
        const socket = connectSocket(server.base, {
          auth: { token },
          transports: ['websocket'],
          reconnection: false,
        });
        socket.on('connect', () => (socket.close(), resolve(true)));
        socket.on('connect_error', () => (socket.close(), resolve(false)));
      });
    expect(await socketWith('s3cret')).toBe(true);
    expect(await socketWith('s3cret-and-more')).toBe(false);

    // Tokens of any length are compared without throwing (timingSafeEqual needs equal lengths).
    const matches = tokenChecker('s3cret');
    expect([matches('s3cret'), matches('x'), matches('x'.repeat(1000)), matches(42)]).toEqual([
      true,
      false,
      false,
      false,
    ]);
  });

  it('serves the dashboard page with the security headers', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'baton-static-'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>t</title>');
    const server = await start({ staticDir: dir });
    const page = await fetch(`${server.base}/`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('every error is JSON {"error"}', () => {
  it('answers a malformed request line with a JSON 400', async () => {
    const server = await start();
    const answer = parseRaw(await rawExchange(server.base, 'GARBAGE\r\n\r\n'));
    expect(answer.status).toBe(400);
    expect(answer.contentType).toMatch(/^application\/json/);
    expect(answer.body).toEqual({ error: expect.stringMatching(/malformed HTTP request/) });
  });

  it('answers headers over the limit with a JSON 431', async () => {
    const server = await start();
    const answer = parseRaw(
      await rawExchange(
        server.base,
        `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      ),
    );
    expect(answer.status).toBe(431);
    expect(answer.body).toEqual({ error: expect.stringMatching(/headers are larger than/) });
  });

  it('answers //v2/… and unknown paths with a JSON 404, even with the dashboard served', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'baton-static-'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>t</title>');
    const server = await start({ staticDir: dir });
    for (const [method, target] of [
      ['GET', '//v2/keys'],
      ['POST', '//v2/publish/sim://x'],
      ['GET', '/v2/nothing-here'],
      ['GET', '/v2'],
      ['POST', '/not-an-api-path'],
      ['DELETE', '/'],
    ] as const) {
      const answer = await send(server.base, method, target);
      expect(answer.status, `${method} ${target}`).toBe(404);
      expect(errorBody(answer)).toContain('no route for');
    }
  });

  it('answers a malformed percent-escape in any path with a JSON 400', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'baton-static-'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>t</title>');
    const server = await start({ staticDir: dir });
    for (const [method, target] of [
      ['GET', '/v2/messages/%ZZ'],
      ['DELETE', '/v2/messages/%ZZ'],
      ['DELETE', '/v2/dlq/%ZZ'],
      ['GET', '/v2/flowControl/%ZZ'],
      ['POST', '/v2/flowControl/%ZZ/pause'],
      ['GET', '/v2/queues/%ZZ'],
      ['GET', '/v2/topics/%ZZ'],
      ['GET', '/v2/schedules/%ZZ'],
      ['GET', '/v2/workflows/runs/%ZZ'],
      ['GET', '/%ZZ'],
      ['GET', '/assets/%ZZ.js'],
    ] as const) {
      const answer = await send(server.base, method, target);
      expect(answer.status, `${method} ${target}`).toBe(400);
      errorBody(answer);
    }
  });

  it('answers a body over --max-body-bytes with a 413 that states the limit', async () => {
    const server = await start({ maxBodyBytes: 1000 });
    const over = await fetch(`${server.base}/v2/publish/sim://w`, {
      method: 'POST',
      body: 'x'.repeat(1001),
    });
    expect(over.status).toBe(413);
    expect(await over.json()).toEqual({
      error: 'request body is larger than the limit of 1000 bytes (--max-body-bytes)',
    });
    const at = await fetch(`${server.base}/v2/publish/sim://w`, {
      method: 'POST',
      body: 'x'.repeat(1000),
    });
    expect(at.status).toBe(200);
  });
});
