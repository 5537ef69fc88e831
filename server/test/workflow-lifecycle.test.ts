import { describe, expect, it } from 'vitest';
import type { WorkflowContext } from '@upstash/workflow';
import { serve as serveExpress, serveMany, createWorkflow } from '@upstash/workflow/express';
import { WorkflowNonRetryableError } from '@upstash/workflow';
import type { Running } from './helpers';
import { deferred, serveOptions, testbed, until, workflowClient } from './workflow-endpoint';

const bed = testbed();
const express = bed.express;
let baton: Running;

describe('context.invoke', () => {
  it('starts another workflow and waits for its result (and learns when it fails)', async () => {
    baton = await bed.start();
    const done = deferred<unknown>();
    const opts = serveOptions(baton.base);
    const child = createWorkflow(async (ctx: WorkflowContext<string>) => {
      const shout = await ctx.run('shout', () => `${ctx.requestPayload}!`);
      return { shout, header: ctx.headers.get('x-from') };
    });
    const failing = createWorkflow(async (ctx: WorkflowContext<string>) => {
      await ctx.run('boom', () => {
        throw new WorkflowNonRetryableError('no way');
      });
    });
    const parent = createWorkflow(async (ctx: WorkflowContext<string>) => {
      const ok = await ctx.invoke('ask child', {
        workflow: child,
        body: ctx.requestPayload,
        headers: { 'x-from': 'parent' },
        flowControl: { key: 'children', parallelism: 2 },
      });
      const bad = await ctx.invoke('ask failing', { workflow: failing, body: 'x', retries: 0 });
      done.resolve({ ok, bad });
    });
    const ep = await express((app) => app.use('/wf', serveMany({ parent, child, failing }, opts)));
    await workflowClient(baton.base).trigger({ url: `${ep.base}/wf/parent`, body: 'hey' });
    expect(await done.promise).toEqual({
      ok: { body: { shout: 'hey!', header: 'parent' }, isFailed: false, isCanceled: false },
      bad: { body: undefined, isFailed: true, isCanceled: false },
    });
  });
});

describe('context.cancel', () => {
  it('ends the run: no later step runs and the run reads as cancelled', async () => {
    baton = await bed.start();
    const ran: string[] = [];
    const ep = await express((app) =>
      app.use(
        '/wf',
        serveExpress(async (ctx) => {
          await ctx.run('before', () => void ran.push('before'));
          await ctx.cancel();
          await ctx.run('after', () => void ran.push('after'));
        }, serveOptions(baton.base)),
      ),
    );
    const client = workflowClient(baton.base);
    const { workflowRunId } = await client.trigger({ url: `${ep.base}/wf` });
    await until(
      async () => (await client.logs({ workflowRunId })).runs[0]?.workflowState === 'RUN_CANCELED',
    );
    expect(ran).toEqual(['before']);
    // Its steps are gone for the SDK's lazy fetch, as QStash answers for an ended run.
    const res = await fetch(`${baton.base}/v2/workflows/runs/${workflowRunId}`);
    expect(res.status).toBe(404);
  });
});

describe('a failing step', () => {
  it('retries, then runs the failureFunction with the error', async () => {
    baton = await bed.start();
    const failure = deferred<unknown>();
    let attempts = 0;
    const ep = await express((app) =>
      app.use(
        '/wf',
        serveExpress<{ user: string }>(
          async (ctx) => {
            await ctx.run('flaky', () => {
              attempts++;
              throw new Error(`mail server down for ${ctx.requestPayload.user}`);
            });
          },
          {
            ...serveOptions(baton.base),
            failureFunction: async ({ context, failStatus, failResponse }) => {
              failure.resolve({
                failStatus,
                failResponse,
                payload: context.requestPayload,
                runId: context.workflowRunId,
              });
            },
          },
        ),
      ),
    );
    const client = workflowClient(baton.base);
    const { workflowRunId } = await client.trigger({
      url: `${ep.base}/wf`,
      body: { user: 'ada' },
      retries: 2,
      retryDelay: '50',
      flowControl: { key: 'flaky', parallelism: 1 },
    });
    expect(await failure.promise).toEqual({
      failStatus: 500,
      failResponse: 'mail server down for ada',
      payload: { user: 'ada' },
      runId: workflowRunId,
    });
    expect(attempts).toBe(3);
    await until(async () => {
      const run = (await client.logs({ workflowRunId })).runs[0];
      return run?.failureFunction?.state === 'CALLBACK_SUCCESS';
    });
    const { runs } = await client.logs({ workflowRunId, state: 'RUN_FAILED' });
    expect(runs[0]).toMatchObject({ workflowState: 'RUN_FAILED', dlqId: expect.any(String) });
    const dlq = await client.dlq.list({ filter: { workflowRunId } });
    expect(dlq.messages).toHaveLength(1);
    expect(dlq.messages[0]).toMatchObject({ workflowRunId, workflowUrl: `${ep.base}/wf` });
  });

  it('sends the failure to a failureUrl, and dlq resume runs the step again', async () => {
    baton = await bed.start();
    const failures: unknown[] = [];
    const gotFailure = deferred<void>();
    let healthy = false;
    const done = deferred<string>();
    const ep = await express((app) => {
      app.post('/failures', (req, res) => {
        failures.push(req.body);
        gotFailure.resolve();
        res.json({});
      });
      app.use(
        '/wf',
        serveExpress(async (ctx) => {
          const v = await ctx.run('needs-db', () => {
            if (!healthy) throw new Error('db down');
            return 'saved';
          });
          done.resolve(v);
        }, serveOptions(baton.base)),
      );
    });
    const client = workflowClient(baton.base);
    const { workflowRunId } = await client.trigger({
      url: `${ep.base}/wf`,
      failureUrl: `${ep.base}/failures`,
      retries: 0,
    });
    await gotFailure.promise;
    expect(failures[0]).toMatchObject({ status: 500, workflowRunId });
    const { messages } = await client.dlq.list();
    expect(messages).toHaveLength(1);
    healthy = true;
    const resumed = await client.dlq.resume({ dlqId: messages[0]!.dlqId });
    expect(resumed).toMatchObject({ workflowRunId });
    expect(await done.promise).toBe('saved');
    await until(
      async () => (await client.logs({ workflowRunId })).runs[0]?.workflowState === 'RUN_SUCCESS',
    );
    expect((await client.dlq.list()).messages).toHaveLength(0);
  });
});

describe('the Workflow dead-letter list', () => {
  it('restart runs a failed run from its start; the failure function can be called again; delete takes a filter', async () => {
    baton = await bed.start();
    const ran: string[] = [];
    let failures = 0;
    let healthy = false;
    const done = deferred<void>();
    const failedTwice = deferred<void>();
    const ep = await express((app) =>
      app.use(
        '/wf',
        serveExpress(
          async (ctx) => {
            await ctx.run('first', () => void ran.push('first'));
            await ctx.run('second', () => {
              if (!healthy) throw new WorkflowNonRetryableError('not yet');
              ran.push('second');
            });
            done.resolve();
          },
          {
            ...serveOptions(baton.base),
            failureFunction: async () => {
              if (++failures === 2) failedTwice.resolve();
            },
          },
        ),
      ),
    );
    const client = workflowClient(baton.base);
    const { workflowRunId } = await client.trigger({ url: `${ep.base}/wf`, label: 'batch-7' });
    await until(async () => (await client.dlq.list()).messages.length === 1);
    const [dead] = (await client.dlq.list({ filter: { label: 'batch-7' } })).messages;
    expect(dead).toMatchObject({ workflowRunId });
    // The failure function runs again on demand (its first run already counted one).
    await until(() => failures === 1);
    await client.dlq.retryFailureFunction({ dlqId: dead!.dlqId });
    await failedTwice.promise;
    healthy = true;
    expect((await client.dlq.restart(dead!.dlqId)).workflowRuns).toEqual([
      { workflowRunId, workflowCreatedAt: expect.any(String) },
    ]);
    await done.promise;
    expect(ran).toEqual(['first', 'first', 'second']);
    // A second failed run, deleted from the list by its label.
    healthy = false;
    await client.trigger({ url: `${ep.base}/wf`, label: 'batch-8' });
    await until(async () => (await client.dlq.list()).messages.length === 1);
    expect(await client.dlq.delete({ filter: { label: 'batch-7' } })).toMatchObject({ deleted: 0 });
    expect(await client.dlq.delete({ filter: { label: 'batch-8' } })).toMatchObject({ deleted: 1 });
    expect((await client.dlq.list()).messages).toHaveLength(0);
  });
});
