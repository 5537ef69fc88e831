import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type Running } from './helpers';
import { DEFAULT_RETENTION } from '../flow/retention';
import { workflowClient } from './workflow-endpoint';

let baton: Running;
afterEach(async () => baton?.close());

/** Starts Baton and triggers `n` runs to a slow simulated endpoint under `key`. */
async function withRuns(n: number, key = 'signup', parallelism = 1) {
  baton = await startApp();
  const client = workflowClient(baton.base);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { workflowRunId } = await client.trigger({
      url: `sim://wf-${key}?duration=30s`,
      workflowRunId: `${key}-${i}`,
      flowControl: { key, parallelism },
      label: i % 2 === 0 ? 'even' : 'odd',
    });
    ids.push(workflowRunId);
  }
  return { client, ids };
}

const call = async (method: string, path: string, init: RequestInit = {}) => {
  const res = await fetch(`${baton.base}${path}`, { method, ...init });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
};

describe('a run as the SDK reads it', () => {
  it("answers a run's raw steps: the initial payload first, base64", async () => {
    baton = await startApp();
    const client = workflowClient(baton.base);
    await client.trigger({ url: 'sim://wf?duration=30s', workflowRunId: 'r1', body: { hi: 1 } });
    const { status, body } = await call('GET', '/v2/workflows/runs/wfr_r1');
    expect(status).toBe(200);
    const steps = body as Array<{ messageId: string; body: string; callType: string }>;
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ callType: 'step', messageId: expect.stringMatching(/^msg_/) });
    expect(JSON.parse(Buffer.from(steps[0]!.body, 'base64').toString())).toEqual({ hi: 1 });
  });
});

describe('logs and bulk cancel', () => {
  it('filters runs by flow-control key, state, label and id', async () => {
    const { client, ids } = await withRuns(3);
    const other = workflowClient(baton.base);
    await other.trigger({
      url: 'sim://elsewhere?duration=30s',
      flowControl: { key: 'other', parallelism: 1 },
    });
    expect((await client.logs({ filter: { flowControlKey: 'signup' } })).runs).toHaveLength(3);
    expect(
      (await client.logs({ filter: { label: 'even' } })).runs.map((r) => r.workflowRunId),
    ).toEqual([ids[2], ids[0]]);
    expect((await client.logs({ workflowRunId: ids[1] })).runs).toHaveLength(1);
    expect((await client.logs({ state: 'RUN_SUCCESS' })).runs).toHaveLength(0);
    const page = await client.logs({ count: 2 });
    expect(page.runs).toHaveLength(2);
    expect((await client.logs({ count: 2, cursor: page.cursor })).runs).toHaveLength(2);
  });

  it('cancels exactly the runs a filter names, and every run when asked for all', async () => {
    const { client } = await withRuns(4);
    await workflowClient(baton.base).trigger({
      url: 'sim://keep?duration=30s',
      flowControl: { key: 'keep', parallelism: 1 },
    });
    expect(await client.cancel({ filter: { label: 'odd' } })).toEqual({ cancelled: 2 });
    expect(await client.cancel({ filter: { flowControlKey: 'signup' } })).toEqual({ cancelled: 2 });
    expect(await client.cancel({ all: true })).toEqual({ cancelled: 1 });
    const { runs } = await client.logs();
    expect(runs.map((r) => r.workflowState).sort()).toEqual([
      'RUN_CANCELED',
      'RUN_CANCELED',
      'RUN_CANCELED',
      'RUN_CANCELED',
      'RUN_CANCELED',
    ]);
  });
});

describe('bad input gets a 4xx with {"error"} and changes nothing', () => {
  it('an unknown run id', async () => {
    baton = await startApp();
    for (const [method, path] of [
      ['GET', '/v2/workflows/runs/wfr_nobody'],
      ['DELETE', '/v2/workflows/runs/wfr_nobody?cancel=false'],
    ] as const) {
      const r = await call(method, path);
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ error: expect.stringContaining('wfr_nobody') });
    }
    const step = await call('POST', '/v2/publish/http://127.0.0.1:9/wf', {
      headers: { 'upstash-workflow-runid': 'wfr_nobody' },
      body: JSON.stringify({ stepId: 1, stepName: 'a', stepType: 'Run', concurrent: 1 }),
    });
    expect(step.status).toBe(404);
    expect((await baton.app.controller.snapshot()).engine.stats.accepted).toBe(0);
  });

  it('a notify that reaches nobody is an empty list', async () => {
    baton = await startApp();
    expect(await call('POST', '/v2/notify/nobody-waits', { body: 'x' })).toEqual({
      status: 200,
      body: [],
    });
    expect(await call('GET', '/v2/waiters/nobody-waits')).toEqual({ status: 200, body: [] });
  });

  it('a malformed step body, and a wait with a malformed body', async () => {
    const { ids } = await withRuns(1);
    const before = await call('GET', `/v2/workflows/runs/${ids[0]}`);
    for (const body of [
      'not json',
      '{"stepName":"a"}',
      '{"stepId":1,"stepName":"a","stepType":"Dance","concurrent":1}',
    ]) {
      const r = await call('POST', '/v2/publish/http://127.0.0.1:9/wf', {
        headers: { 'upstash-workflow-runid': ids[0]!, 'upstash-workflow-init': 'false' },
        body,
      });
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ error: expect.stringContaining('step') });
    }
    const wait = await call('POST', '/v2/wait/ev', {
      headers: { 'upstash-workflow-runid': ids[0]! },
      body: '{"url": 5}',
    });
    expect(wait.status).toBe(400);
    expect(await call('GET', '/v2/waiters/ev')).toEqual({ status: 200, body: [] });
    expect(await call('GET', `/v2/workflows/runs/${ids[0]}`)).toEqual(before);
    expect((await baton.app.controller.snapshot()).engine.stats.accepted).toBe(1);
  });

  it('a workflow URL that is not absolute', async () => {
    baton = await startApp();
    const client = workflowClient(baton.base);
    await expect(client.trigger({ url: '/relative/wf' })).rejects.toThrow(/absolute/);
    const r = await call('POST', '/v2/batch', {
      body: JSON.stringify([
        {
          destination: 'http://127.0.0.1:9/wf',
          headers: {
            'upstash-workflow-init': 'true',
            'upstash-workflow-runid': 'wfr_x',
            'upstash-workflow-url': 'wf/relative',
          },
        },
      ]),
    });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ error: expect.stringContaining('Upstash-Workflow-Url') });
    expect((await call('GET', '/v2/workflows/runs/wfr_x')).status).toBe(404);
  });

  it('a filter Baton does not know, on logs and on bulk cancel', async () => {
    const { client } = await withRuns(2);
    for (const [method, path] of [
      ['GET', '/v2/workflows/events?host=example.org'],
      ['DELETE', '/v2/workflows/runs?host=example.org&count=100'],
      ['DELETE', '/v2/workflows/runs?state=RUN_DANCING'],
    ] as const) {
      const r = await call(method, path);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ error: expect.any(String) });
    }
    expect((await client.logs({ state: 'RUN_STARTED' })).runs).toHaveLength(2);
  });
});

describe('memory', () => {
  it('forgets the oldest ended runs past the history budget, never a live one', async () => {
    baton = await startApp({
      retention: { ...DEFAULT_RETENTION, history: { maxBytes: 5_000, maxAgeMs: null } },
    });
    const client = workflowClient(baton.base);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { workflowRunId } = await client.trigger({
        url: 'sim://wf?duration=30s',
        body: 'x'.repeat(1000),
        workflowRunId: `m-${i}`,
      });
      ids.push(workflowRunId);
    }
    // Five end, one by one (each about 2 KB with its payload); the sixth stays live.
    for (const id of ids.slice(0, 5)) await client.cancel({ ids: [id] });
    const known = async (id: string) =>
      (await client.logs({ workflowRunId: id })).runs.length === 1;
    expect(await known(ids[0]!)).toBe(false);
    expect(await known(ids[4]!)).toBe(true);
    expect(await known(ids[5]!)).toBe(true);
  });
});
