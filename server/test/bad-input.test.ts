import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { collectEvents, startApp, type Running } from './helpers';

let server: Running;
beforeAll(async () => {
  server = await startApp();
});
afterAll(async () => server.close());

const headerName = fc.constantFrom(
  'upstash-flow-control-key',
  'upstash-flow-control-value',
  'upstash-method',
  'upstash-retries',
  'upstash-retry-delay',
  'upstash-delay',
  'upstash-not-before',
  'upstash-timeout',
  'upstash-callback',
  'upstash-failure-callback',
  'upstash-deduplication-id',
);
/** Header values fetch can send: printable ASCII without CR/LF. */
const headerValue = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
});
const pathPiece = fc.string({
  unit: fc.constantFrom(...'ab/%:?&=#.-_ ü'.split('')),
  maxLength: 20,
});

describe('bad input', () => {
  it('always gets a 2xx or a 4xx with {"error"}; the server stays up and accepted messages are kept', async () => {
    const accepted = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('publish', 'batch', 'flowControl', 'messages'),
        fc.constantFrom(
          'sim://w?duration=1ms',
          'http://127.0.0.1:9/x',
          'nope',
          'ftp://x',
          'sim://w?fail=9',
        ),
        fc.dictionary(headerName, headerValue, { maxKeys: 4 }),
        pathPiece,
        fc.string({ maxLength: 60 }),
        fc.boolean(),
        async (kind, destination, headers, piece, body, rawBatch) => {
          let res: Response;
          if (kind === 'publish') {
            res = await fetch(`${server.base}/v2/publish/${destination}`, {
              method: 'POST',
              headers,
              body,
            });
          } else if (kind === 'batch') {
            res = await fetch(`${server.base}/v2/batch`, {
              method: 'POST',
              body: rawBatch ? body : JSON.stringify([{ destination, headers, body }]),
            });
          } else if (kind === 'flowControl') {
            const action = [
              'pause',
              'pin?parallelism=' + encodeURIComponent(body),
              'unpin?rate=' + encodeURIComponent(body),
              'resetRate',
              'bogus',
            ][body.length % 5];
            res = await fetch(`${server.base}/v2/flowControl/${encodeURI(piece)}/${action}`, {
              method: 'POST',
            });
          } else {
            res = await fetch(`${server.base}/v2/messages/${encodeURI(piece)}`, {
              method: body.length % 2 ? 'GET' : 'DELETE',
            });
          }
          expect(res.status === 200 || (res.status >= 400 && res.status < 500)).toBe(true);
          const text = await res.text();
          if (res.status >= 400)
            expect(typeof (JSON.parse(text) as { error: unknown }).error).toBe('string');
          else if (kind === 'publish')
            accepted.add((JSON.parse(text) as { messageId: string }).messageId);
        },
      ),
      { numRuns: 300 },
    );
    expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
    // Every accepted message is still known to the server, ended or not.
    for (const id of accepted) {
      const res = await fetch(`${server.base}/v2/messages/${id}`);
      expect(res.status).toBe(200);
    }
    // Unpause everything the fuzz paused, and the simulated ones all end.
    for (const { key } of await server.app.controller.keys())
      await fetch(`${server.base}/v2/flowControl/${encodeURIComponent(key)}/resume`, {
        method: 'POST',
      });
    const { stats } = (await server.app.controller.snapshot(0)).engine;
    expect(stats.accepted).toBeGreaterThanOrEqual(accepted.size);
  });

  it('refuses a body over the limit with 413', async () => {
    const res = await fetch(`${server.base}/v2/publish/sim://w`, {
      method: 'POST',
      body: 'x'.repeat(1_100_000),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: 'request body is larger than the limit of 1048576 bytes (--max-body-bytes)',
    });
  });

  it('answers unknown routes under /v2 with 404 and an error', async () => {
    const res = await fetch(`${server.base}/v2/nothing-here`);
    expect(res.status).toBe(404);
    expect((await res.json()) as { error: string }).toHaveProperty('error');
  });

  it('still delivers after the fuzz', async () => {
    const done = collectEvents(server.app, (e) => e.type === 'message:delivered', 1);
    await fetch(`${server.base}/v2/publish/sim://w?duration=1ms`, { method: 'POST' });
    await done;
  });
});
