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
    expect(server.app.controller.engine.stats.accepted).toBe(2);
  });
});
