import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@upstash/workflow';
import { startApp, type Running } from './helpers';

let server: Running;
afterEach(async () => server?.close());

describe('driven by the official @upstash/workflow client', () => {
  it('starts a run through /v2/batch with its flow control, and reports a repeated run id as existing', async () => {
    server = await startApp();
    const client = new Client({ baseUrl: server.base, token: 'any' });
    const url = 'sim://wf?duration=5s';
    const { workflowRunId } = await client.trigger({
      url,
      workflowRunId: 'signup-1',
      flowControl: { key: 'user-signup', parallelism: 1 },
    });
    expect(workflowRunId).toBe('wfr_signup-1');
    await client.trigger({
      url,
      workflowRunId: 'signup-2',
      flowControl: { key: 'user-signup', parallelism: 1 },
    });
    const info = await (await fetch(`${server.base}/v2/flowControl/user-signup`)).json();
    expect(info).toMatchObject({ parallelismMax: 1, parallelismCount: 1, waitListSize: 1 });
    // The same run again is deduplicated rather than started twice.
    await client.trigger({
      url,
      workflowRunId: 'signup-1',
      flowControl: { key: 'user-signup', parallelism: 1 },
    });
    expect((await server.app.controller.snapshot()).engine.stats.accepted).toBe(2);
  });

  it('cancels runs by id and by URL, ending their pending messages', async () => {
    server = await startApp();
    const client = new Client({ baseUrl: server.base, token: 'any' });
    const flowControl = { key: 'wf-cancel', parallelism: 1 };
    for (const id of ['a', 'b', 'c']) {
      await client.trigger({ url: `sim://wf-${id}?duration=30s`, workflowRunId: id, flowControl });
    }
    const info = async () =>
      (await (await fetch(`${server.base}/v2/flowControl/wf-cancel`)).json()) as {
        waitListSize: number;
      };
    expect(await info()).toMatchObject({ waitListSize: 2 });
    // Run a is in flight: it finishes its attempt, but b's waiting message ends now.
    expect(await client.cancel({ ids: ['wfr_b'] })).toEqual({ cancelled: 1 });
    expect(await info()).toMatchObject({ waitListSize: 1 });
    expect(await client.cancel({ urlStartingWith: 'sim://wf-c' })).toEqual({ cancelled: 1 });
    expect(await info()).toMatchObject({ waitListSize: 0 });
    expect((await server.app.controller.snapshot()).engine.stats.cancelled).toBe(2);
    expect(await client.cancel({ ids: ['wfr_nobody'] })).toEqual({ cancelled: 0 });
  });

  it('ends a run that cancels itself through DELETE /v2/workflows/runs/{id}', async () => {
    server = await startApp();
    const client = new Client({ baseUrl: server.base, token: 'any' });
    const flowControl = { key: 'wf-self', parallelism: 1 };
    for (const id of ['one', 'two']) {
      await client.trigger({ url: `sim://wf-${id}?duration=30s`, workflowRunId: id, flowControl });
    }
    const res = await fetch(`${server.base}/v2/workflows/runs/wfr_two?cancel=true`, {
      method: 'DELETE',
    });
    expect(res.status).toBe(200);
    expect((await server.app.controller.snapshot()).engine.stats.cancelled).toBe(1);
  });
});
