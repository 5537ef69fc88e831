import { describe, expect, it } from 'vitest';
import { serve as serveExpress } from '@upstash/workflow/express';
import { serve as serveFetch } from '@upstash/workflow';
import type { Running } from './helpers';
import { deferred, serveOptions, testbed, until, workflowClient } from './workflow-endpoint';

const bed = testbed();
const express = bed.express;
let baton: Running;

describe('context.run', () => {
  it('runs steps in sequence and in parallel behind an express serve()', async () => {
    baton = await bed.start();
    const done = deferred<unknown>();
    const ep = await express((app) =>
      app.use(
        '/wf',
        serveExpress<{ n: number }>(async (ctx) => {
          const a = await ctx.run('a', () => ctx.requestPayload.n + 1);
          const b = await ctx.run('b', async () => ({ twice: a * 2 }));
          const [c, d] = await Promise.all([
            ctx.run('c', () => b.twice + 1),
            ctx.run('d', () => `${b.twice + 2}`),
          ]);
          done.resolve({ a, b, c, d, header: ctx.headers.get('x-user') });
          return { a, c };
        }, serveOptions(baton.base)),
      ),
    );
    const client = workflowClient(baton.base);
    const { workflowRunId } = await client.trigger({
      url: `${ep.base}/wf`,
      body: { n: 1 },
      headers: { 'x-user': 'ada' },
      flowControl: { key: 'steps', parallelism: 2 },
    });
    expect(await done.promise).toEqual({ a: 2, b: { twice: 4 }, c: 5, d: '6', header: 'ada' });
    await until(
      async () => (await client.logs({ workflowRunId })).runs[0]?.workflowState === 'RUN_SUCCESS',
    );
    const { runs } = await client.logs({ workflowRunId });
    expect(runs[0]).toMatchObject({
      workflowRunId,
      workflowUrl: `${ep.base}/wf`,
      workflowState: 'RUN_SUCCESS',
      workflowRunResponse: JSON.stringify({ a: 2, c: 5 }),
    });
    const names = runs[0]!.steps.map((g) =>
      g.steps.map((s) => ('stepName' in s ? s.stepName : '')),
    );
    // The parallel group lists its steps as they ended: c and d, in either order.
    expect(names.slice(0, 3)).toEqual([['init'], ['a'], ['b']]);
    expect([...names[3]!].sort()).toEqual(['c', 'd']);
    expect(runs[0]!.steps.map((g) => g.type)).toEqual([
      'sequential',
      'sequential',
      'sequential',
      'parallel',
    ]);
  });

  it('runs behind the plain fetch-handler serve()', async () => {
    baton = await bed.start();
    const done = deferred<unknown>();
    const { handler } = serveFetch<string>(async (ctx) => {
      const upper = await ctx.run('upper', () => ctx.requestPayload.toUpperCase());
      const len = await ctx.run('length', () => upper.length);
      done.resolve({ upper, len });
    }, serveOptions(baton.base));
    const ep = await bed.fetch({ '/plain': handler });
    await workflowClient(baton.base).trigger({ url: `${ep.base}/plain`, body: 'hello' });
    expect(await done.promise).toEqual({ upper: 'HELLO', len: 5 });
  });
});

describe('context.sleep and sleepUntil', () => {
  it('a sleep of 1 s takes at least 1 s, and sleepUntil waits for its time', async () => {
    baton = await bed.start();
    const done = deferred<{ slept: number; until: number }>();
    const ep = await express((app) =>
      app.use(
        '/sleepy',
        serveExpress(async (ctx) => {
          const t0 = await ctx.run('before', () => Date.now());
          await ctx.sleep('nap', 1);
          const t1 = await ctx.run('after-sleep', () => Date.now());
          const target = await ctx.run('target', () => Math.ceil((Date.now() + 1000) / 1000));
          await ctx.sleepUntil('alarm', target);
          const t2 = await ctx.run('after-alarm', () => Date.now());
          done.resolve({ slept: t1 - t0, until: t2 - target * 1000 });
        }, serveOptions(baton.base)),
      ),
    );
    await workflowClient(baton.base).trigger({
      url: `${ep.base}/sleepy`,
      flowControl: { key: 'sleepers', parallelism: 1 },
    });
    const r = await done.promise;
    expect(r.slept).toBeGreaterThanOrEqual(1000);
    expect(r.until).toBeGreaterThanOrEqual(0);
  });

  it('a sleeping run holds no token: another run of its key goes on meanwhile', async () => {
    baton = await bed.start();
    const order: string[] = [];
    const finished = deferred<void>();
    let ended = 0;
    const ep = await express((app) =>
      app.use(
        '/wf',
        serveExpress<{ name: string; sleep: number }>(async (ctx) => {
          const { name, sleep } = ctx.requestPayload;
          await ctx.run('start', () => void order.push(`${name} start`));
          if (sleep > 0) await ctx.sleep('nap', sleep);
          await ctx.run('end', () => void order.push(`${name} end`));
          if (++ended === 2) finished.resolve();
        }, serveOptions(baton.base)),
      ),
    );
    const client = workflowClient(baton.base);
    const flowControl = { key: 'one-token', parallelism: 1 };
    await client.trigger({
      url: `${ep.base}/wf`,
      body: { name: 'sleeper', sleep: 2 },
      flowControl,
    });
    await new Promise((r) => setTimeout(r, 300));
    await client.trigger({ url: `${ep.base}/wf`, body: { name: 'other', sleep: 0 }, flowControl });
    await finished.promise;
    expect(order).toEqual(['sleeper start', 'other start', 'other end', 'sleeper end']);
    expect(ep.record.maxInFlight).toBe(1);
  });
});

describe('context.call', () => {
  it('calls the third party under its own flow control and hands back status, headers and body', async () => {
    baton = await bed.start();
    const third = await express((app) =>
      app.post('/api', async (req, res) => {
        await new Promise((r) => setTimeout(r, 80));
        res.setHeader('x-third', 'yes');
        res.status(201).json({ got: req.body as unknown });
      }),
    );
    const results: unknown[] = [];
    const all = deferred<void>();
    const runs = 4;
    const ep = await express((app) =>
      app.use(
        '/caller',
        serveExpress<{ i: number }>(async (ctx) => {
          const res = await ctx.call<{ got: unknown }>('ask', {
            url: `${third.base}/api`,
            method: 'POST',
            body: JSON.stringify({ i: ctx.requestPayload.i }),
            headers: { 'content-type': 'application/json' },
            flowControl: { key: 'third-party', parallelism: 1 },
          });
          results.push({ status: res.status, body: res.body, header: res.header['x-third'] });
          if (results.length === runs) all.resolve();
        }, serveOptions(baton.base)),
      ),
    );
    const client = workflowClient(baton.base);
    for (let i = 0; i < runs; i++) {
      await client.trigger({
        url: `${ep.base}/caller`,
        body: { i },
        flowControl: { key: 'callers', parallelism: 4 },
      });
    }
    await all.promise;
    expect(third.record.calls).toHaveLength(runs);
    expect(third.record.maxInFlight).toBe(1);
    expect(results).toContainEqual({ status: 201, body: { got: { i: 2 } }, header: ['yes'] });
  });
  it('hands a failed call its last answer once its retries are spent', async () => {
    baton = await bed.start();
    const third = await express((app) =>
      app.get('/down', (_req, res) => {
        res.status(503).send('try later');
      }),
    );
    const done = deferred<unknown>();
    const ep = await express((app) =>
      app.use(
        '/caller',
        serveExpress(async (ctx) => {
          const res = await ctx.call('ask', {
            url: `${third.base}/down`,
            method: 'GET',
            retries: 1,
            retryDelay: '10',
          });
          done.resolve({ status: res.status, body: res.body });
        }, serveOptions(baton.base)),
      ),
    );
    await workflowClient(baton.base).trigger({ url: `${ep.base}/caller` });
    expect(await done.promise).toEqual({ status: 503, body: 'try later' });
    expect(third.record.calls).toHaveLength(2);
  });
});

describe('context.waitForEvent and notify', () => {
  it('receives the notified data, and times out when nobody notifies', async () => {
    baton = await bed.start();
    const got = deferred<unknown>();
    const timedOut = deferred<unknown>();
    const ep = await express((app) =>
      app.use(
        '/waiter',
        serveExpress<{ event: string; timeout: number }>(async (ctx) => {
          const { event, timeout } = ctx.requestPayload;
          const r = await ctx.waitForEvent('wait', event, { timeout });
          (timeout < 5 ? timedOut : got).resolve(r);
        }, serveOptions(baton.base)),
      ),
    );
    const client = workflowClient(baton.base);
    const { workflowRunId } = await client.trigger({
      url: `${ep.base}/waiter`,
      body: { event: 'order-paid', timeout: 60 },
    });
    await client.trigger({ url: `${ep.base}/waiter`, body: { event: 'never', timeout: 1 } });
    await until(async () => (await client.getWaiters({ eventId: 'order-paid' })).length === 1);
    const [waiter] = await client.getWaiters({ eventId: 'order-paid' });
    expect(waiter).toMatchObject({ url: `${ep.base}/waiter` });
    expect(waiter!.deadline).toBeGreaterThan(Date.now() / 1000 + 30);
    // A notify that reaches nobody answers an empty list.
    expect(await client.notify({ eventId: 'nobody-waits', eventData: 'x' })).toEqual([]);
    const notified = await client.notify({ eventId: 'order-paid', eventData: { amount: 42 } });
    expect(notified).toHaveLength(1);
    expect(await got.promise).toEqual({ eventData: { amount: 42 }, timeout: false });
    expect(await timedOut.promise).toEqual({ eventData: undefined, timeout: true });
    expect(await client.getWaiters({ eventId: 'order-paid' })).toEqual([]);
    await until(
      async () => (await client.logs({ workflowRunId })).runs[0]?.workflowState === 'RUN_SUCCESS',
    );
  });

  it('context.notify from one run wakes another; a notify for a run that waits later is kept for it', async () => {
    baton = await bed.start();
    const got = deferred<unknown>();
    const early = deferred<unknown>();
    const ep = await express((app) => {
      app.use(
        '/waiter',
        serveExpress<string>(async (ctx) => {
          const r = await ctx.waitForEvent('wait', ctx.requestPayload, { timeout: '1m' });
          (ctx.requestPayload === 'early' ? early : got).resolve(r.eventData);
        }, serveOptions(baton.base)),
      );
      app.use(
        '/notifier',
        serveExpress(async (ctx) => {
          const { notifyResponse } = await ctx.notify('tell', 'ping', { from: 'notifier' });
          await ctx.run('count', () => notifyResponse.length);
        }, serveOptions(baton.base)),
      );
    });
    const client = workflowClient(baton.base);
    await client.trigger({ url: `${ep.base}/waiter`, body: 'ping' });
    await until(async () => (await client.getWaiters({ eventId: 'ping' })).length === 1);
    await client.trigger({ url: `${ep.base}/notifier` });
    expect(await got.promise).toEqual({ from: 'notifier' });
    // Lookback: notified with the run's id before the run waits.
    const { workflowRunId } = await client.trigger({
      url: `${ep.base}/waiter`,
      body: 'early',
      delay: 1,
    });
    expect(await client.notify({ eventId: 'early', eventData: 'first!', workflowRunId })).toEqual(
      [],
    );
    expect(await early.promise).toBe('first!');
  });
});
