import { afterAll, beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import { startApp, type Running } from './helpers';

let server: Running;
beforeAll(async () => {
  server = await startApp();
});
afterAll(async () => server.close());

/** Every route of the API, with `{x}` where a path piece goes. */
const ROUTES = [
  '/v2/publish/{x}',
  '/v2/enqueue/{x}/{x}',
  '/v2/batch',
  '/v2/messages',
  '/v2/messages/{x}',
  '/v2/dlq',
  '/v2/dlq/{x}',
  '/v2/events',
  '/v2/schedules',
  '/v2/schedules/{x}',
  '/v2/schedules/{x}/pause',
  '/v2/schedules/{x}/resume',
  '/v2/topics',
  '/v2/topics/{x}',
  '/v2/topics/{x}/endpoints',
  '/v2/queues',
  '/v2/queues/{x}',
  '/v2/queues/{x}/pause',
  '/v2/flowControl',
  '/v2/flowControl/{x}',
  '/v2/flowControl/{x}/pause',
  '/v2/flowControl/{x}/pin',
  '/v2/flowControl/{x}/unpin',
  '/v2/flowControl/{x}/resetRate',
  '/v2/globalParallelism',
  '/v2/keys',
  '/v2/workflows/runs',
  '/v2/workflows/runs/{x}',
  '/v2/workflows/events',
  '/v2/workflows/dlq',
  '/v2/workflows/dlq/resume',
  '/v2/workflows/dlq/restart',
  '/v2/workflows/dlq/callback/{x}',
  '/v2/wait/{x}',
  '/v2/notify/{x}',
  '/v2/notify/{x}/{x}',
  '/v2/waiters/{x}',
  '/v2/{x}',
  '/{x}',
];

const piece = fc.oneof(
  fc.constantFrom(
    'sim://w?duration=1ms',
    'http://127.0.0.1:9/x',
    'wfr_x',
    'q',
    'k',
    '%ZZ',
    '%',
    '..',
    '',
  ),
  fc.string({ unit: fc.constantFrom(...'ab/%:?&=#.-_ ü~'.split('')), maxLength: 16 }),
);
const headerName = fc.constantFrom(
  'upstash-flow-control-key',
  'upstash-flow-control-value',
  'upstash-retries',
  'upstash-delay',
  'upstash-cron',
  'upstash-callback',
  'upstash-callback-retries',
  'upstash-forward-host',
  'upstash-workflow-runid',
  'upstash-workflow-init',
  'upstash-workflow-url',
  'upstash-workflow-calltype',
  'upstash-redact-fields',
  'upstash-schedule-id',
  'content-type',
);
const headerValue = fc.oneof(
  fc.constantFrom(
    'true',
    'false',
    '1',
    'parallelism=2',
    'x',
    '0 * * * *',
    'wfr_x',
    'http://127.0.0.1:9/y',
  ),
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 30,
  }),
);
const query = fc.dictionary(
  fc.constantFrom(
    'count',
    'cursor',
    'flowControlKey',
    'dlqIds',
    'workflowRunIds',
    'all',
    'state',
    'label',
    'bogus',
    'cancel',
    'parallelism',
    'rate',
  ),
  fc.constantFrom('1', 'x', 'true', '', 'RUN_STARTED', '%ZZ'),
  { maxKeys: 3 },
);
const body = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.json({ maxDepth: 2 }),
  fc.constantFrom(
    '[]',
    '[{"destination":"sim://w?duration=1ms"}]',
    '{"queueName":"q","parallelism":2}',
    '{"endpoints":[{"url":"http://127.0.0.1:9/e"}]}',
    '{"url":"http://127.0.0.1:9/w","step":{"stepId":1,"stepName":"w","stepType":"Wait","concurrent":1}}',
  ),
);

/** What a request may create or change; a refused one must leave it as it was. */
async function fingerprint(): Promise<string> {
  const { app } = server;
  const snapshot = await app.controller.snapshot(0);
  const keys = snapshot.engine.keys
    .sort((a, b) => (a.key < b.key ? -1 : 1))
    .map((s) => {
      return [
        s.key,
        s?.parallelism,
        s?.rate,
        s?.periodMs,
        s?.paused,
        s?.pinnedParallelism,
        s?.pinnedRate,
      ];
    });
  return JSON.stringify({
    accepted: snapshot.engine.stats.accepted,
    cancelled: snapshot.engine.stats.cancelled,
    keys,
    schedules: (await app.schedules.list()).map((s) => [s.scheduleId, s.isPaused, s.cron]),
    groups: (await app.urlGroups.list()).map((g) => [g.name, g.endpoints.length]),
    queues: (await app.queues.list()).map((q) => [q.name, q.parallelism, q.paused]),
    runs: (await app.workflows.list()).map((r) => [r.id, r.state, r.steps.length]),
  });
}

it('every endpoint answers JSON 2xx or 4xx to anything; a refused request changes nothing; the server stays up', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('GET', 'POST', 'DELETE', 'PATCH', 'PUT'),
      fc.constantFrom(...ROUTES),
      fc.array(piece, { minLength: 2, maxLength: 2 }),
      query,
      fc.dictionary(headerName, headerValue, { maxKeys: 4 }),
      body,
      async (method, route, [a, b], q, headers, payload) => {
        let n = 0;
        const path = route.replace(/\{x\}/g, () => [a, b][n++]!);
        const qs = new URLSearchParams(q).toString();
        const before = await fingerprint();
        const res = await fetch(`${server.base}${path}${qs === '' ? '' : `?${qs}`}`, {
          method,
          headers,
          ...(method === 'GET' ? {} : { body: payload }),
        });
        const text = await res.text();
        expect(
          res.status < 300 || (res.status >= 400 && res.status < 500),
          `${method} ${path} → ${res.status} ${text}`,
        ).toBe(true);
        if (res.status >= 400) {
          expect(typeof (JSON.parse(text) as { error: unknown }).error, text).toBe('string');
          expect(await fingerprint(), `${method} ${path}?${qs} ${text}`).toBe(before);
        } else if (text !== '' && path.startsWith('/v2')) {
          expect(() => JSON.parse(text) as unknown).not.toThrow();
        }
      },
    ),
    { numRuns: 600 },
  );
  expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
}, 120_000);
