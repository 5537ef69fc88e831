/**
 * Workflow runs and their waiters on Redis, as a user runs them: two Baton servers on one prefix
 * and a real `@upstash/workflow` endpoint. A run triggered through one server is delivered by the
 * other (the server holding its key's token delivers), either server answers for it (its logs, its
 * waiters, a notify), a waiter's timeout fires once, and a restart of every server loses nothing.
 */
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type { EngineEvent } from '../../shared/events';
import { describe, expect, it, onTestFinished } from 'vitest';
import { serve } from '@upstash/workflow/express';
import { HttpDeliverer } from '../delivery/http';
import { DEV_SIGNING_KEYS } from '../delivery/signature';
import { createApp } from '../app';
import { systemClock, type Deliverer } from '../flow/types';
import { testRedisUrl } from '../store/contract/test-redis-url';
import { openRedisDeployment } from '../store/redis/deployment';
import { deletePrefix, testPrefix } from '../store/redis/testing';
import {
  deferred,
  expressEndpoint,
  serveOptions,
  until,
  workflowClient,
  type Endpoint,
} from './workflow-endpoint';

interface Server {
  base: string;
  port: number;
  /** Calls to the workflow endpoint this server delivered. */
  delivered: () => number;
  /** What this server logged as warnings. */
  warnings: string[];
  /** Every event this server heard (what its dashboards are sent). */
  events: EngineEvent[];
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** A Baton on the prefix with every shared part in Redis, on `port` (0: any free one). */
async function server(prefix: string, port = 0): Promise<Server> {
  const url = testRedisUrl();
  const warnings: string[] = [];
  const log = pino(
    { level: 'warn' },
    { write: (line: string) => void warnings.push(String(JSON.parse(line).msg)) },
  );
  const redis = await openRedisDeployment({ url, prefix, warn: (msg) => warnings.push(msg) });
  const http = new HttpDeliverer({
    clock: systemClock,
    signingKey: DEV_SIGNING_KEYS.current,
    defaultTimeoutMs: 30_000,
  });
  let delivered = 0;
  const counting: Deliverer = {
    deliver: (d) => {
      if (d.payload.headers['upstash-workflow-runid'] !== undefined) delivered++;
      return http.deliver(d);
    },
  };
  const app = createApp({
    log,
    ...redis,
    httpDeliverer: counting,
  });
  const events: EngineEvent[] = [];
  app.controller.onEvents((batch) => void events.push(...batch));
  await new Promise<void>((resolve) => app.http.listen(port, '127.0.0.1', resolve));
  const bound = (app.http.address() as AddressInfo).port;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
    await http.close();
  };
  onTestFinished(close);
  return {
    base: `http://127.0.0.1:${bound}`,
    port: bound,
    delivered: () => delivered,
    warnings,
    events,
    settled: async () => {
      await app.workflows.settled();
      await redis.sharedLog.settled();
    },
    close,
  };
}

async function endpoint(mount: Parameters<typeof expressEndpoint>[0]): Promise<Endpoint> {
  const e = await expressEndpoint(mount);
  onTestFinished(async () => {
    await until(() => e.record.inFlight === 0, 5_000).catch(() => {});
    await e.close();
  });
  return e;
}

async function twoServers() {
  const prefix = testPrefix('workflow-shared');
  onTestFinished(() => deletePrefix(prefix, testRedisUrl()));
  return { prefix, a: await server(prefix), b: await server(prefix) };
}

const stateOf = async (base: string, workflowRunId: string) =>
  (await workflowClient(base).logs({ workflowRunId })).runs[0]?.workflowState;

/**
 * Takes the key's only token on `s` for `ms` (it must be free): the key's messages that wait
 * meanwhile are then delivered by `s`, each handing the token to the next.
 */
async function holdToken(s: Server, key: string, ms: number): Promise<void> {
  const res = await fetch(`${s.base}/v2/publish/sim://hold?duration=${ms}ms`, {
    method: 'POST',
    headers: {
      'Upstash-Flow-Control-Key': key,
      'Upstash-Flow-Control-Value': 'parallelism=1',
    },
  });
  expect(res.status).toBe(200);
}

describe('workflow runs on two servers sharing one Redis', () => {
  it('runs a workflow triggered through one server and delivered by both, every step replayed right', async () => {
    const { a, b } = await twoServers();
    const ran: string[] = [];
    const done = deferred<unknown>();
    // The endpoint publishes every step through a.
    const ep = await endpoint((app) =>
      app.use(
        '/wf',
        serve<{ n: number }>(async (ctx) => {
          const one = await ctx.run('one', () => (ran.push('one'), ctx.requestPayload.n + 1));
          const two = await ctx.run('two', () => (ran.push('two'), { twice: one * 2 }));
          await ctx.sleep('nap', 2);
          const [three, four] = await Promise.all([
            ctx.run('three', () => (ran.push('three'), two.twice + 1)),
            ctx.run('four', () => (ran.push('four'), `${two.twice + 2}`)),
          ]);
          const five = await ctx.run('five', () => (ran.push('five'), `${three}/${four}`));
          done.resolve({ one, two, three, four, five, user: ctx.headers.get('x-user') });
          return five;
        }, serveOptions(a.base)),
      ),
    );
    const key = 'wf-shared';
    const inFlight = async () =>
      (
        (await (await fetch(`${a.base}/v2/flowControl/${key}`)).json()) as {
          parallelismCount: number;
        }
      ).parallelismCount;
    // b holds the key's token: it delivers the run's calls, each handing the token to the next.
    await holdToken(b, key, 800);
    const { workflowRunId } = await workflowClient(a.base).trigger({
      url: `${ep.base}/wf`,
      body: { n: 1 },
      headers: { 'x-user': 'ada' },
      flowControl: { key, parallelism: 1 },
    });
    // While the run sleeps, nothing holds the token: a takes it, and delivers the calls after.
    await until(async () => ran.includes('two') && (await inFlight()) === 0);
    await holdToken(a, key, 2500);
    expect(await done.promise).toEqual({
      one: 2,
      two: { twice: 4 },
      three: 5,
      four: '6',
      five: '5/6',
      user: 'ada',
    });
    // Each step ran once: every call carried the steps before it, whichever server delivered it.
    expect([...ran].sort()).toEqual(['five', 'four', 'one', 'three', 'two']);
    expect(a.delivered()).toBeGreaterThan(0);
    expect(b.delivered()).toBeGreaterThan(0);
    expect(ep.record.maxInFlight).toBe(1);

    const logs = async (s: Server) =>
      (await (
        await fetch(`${s.base}/v2/workflows/events?workflowRunId=${workflowRunId}`)
      ).json()) as {
        runs: Array<{
          workflowState: string;
          workflowRunResponse?: string;
          steps: Array<{ type: string; steps: unknown[] }>;
        }>;
      };
    // Ended, and its last call (the one that ended it) followed by both servers.
    const over = async (s: Server) => {
      const run = (await logs(s)).runs[0];
      return run?.workflowState === 'RUN_SUCCESS' && run.steps.every((g) => g.type !== 'next');
    };
    await until(async () => (await over(a)) && (await over(b)));
    await a.settled();
    await b.settled();
    const onA = await logs(a);
    expect(await logs(b)).toEqual(onA);
    expect(onA.runs[0]!.workflowRunResponse).toBe(JSON.stringify('5/6'));
    // init, one, two, nap, three and four together, five.
    expect(onA.runs[0]!.steps.map((g) => g.steps.length)).toEqual([1, 1, 1, 1, 2, 1]);
    // Every call was published through a; b's dashboards name each one's step all the same.
    const steps = (s: Server) =>
      s.events.flatMap((e) =>
        e.type === 'message:accepted' && e.workflow?.runId === workflowRunId
          ? [e.workflow.step]
          : [],
      );
    expect(steps(a)).toContain('start');
    expect(steps(a)).toContain('three');
    expect(steps(b)).toEqual(steps(a));
    expect([...a.warnings, ...b.warnings]).toEqual([]);
  }, 15_000);

  it('notifies through one server a run that waits through the other', async () => {
    const { a, b } = await twoServers();
    const got = deferred<unknown>();
    const ep = await endpoint((app) =>
      app.use(
        '/waiter',
        serve(async (ctx) => {
          const r = await ctx.waitForEvent('wait', 'order-paid', { timeout: '1m' });
          got.resolve(r);
        }, serveOptions(a.base)),
      ),
    );
    const { workflowRunId } = await workflowClient(a.base).trigger({ url: `${ep.base}/waiter` });
    const onB = workflowClient(b.base);
    await until(async () => (await onB.getWaiters({ eventId: 'order-paid' })).length === 1);
    expect(await onB.notify({ eventId: 'order-paid', eventData: { amount: 42 } })).toHaveLength(1);
    expect(await got.promise).toEqual({ eventData: { amount: 42 }, timeout: false });
    expect(await onB.getWaiters({ eventId: 'order-paid' })).toEqual([]);
    await until(async () => (await stateOf(a.base, workflowRunId)) === 'RUN_SUCCESS');
    // Notified again: nobody waits any more, on either server.
    expect(await workflowClient(a.base).notify({ eventId: 'order-paid', eventData: 1 })).toEqual(
      [],
    );
  });

  it("fires a waiter's timeout once though both servers armed it", async () => {
    const { a, b } = await twoServers();
    let after = 0;
    const ep = await endpoint((app) =>
      app.use(
        '/sleepy',
        serve(async (ctx) => {
          // Longer than a poll: both servers have armed its timeout when it passes.
          const r = await ctx.waitForEvent('wait', 'never-comes', { timeout: '3s' });
          await ctx.run('after', () => {
            after++;
            return r.timeout;
          });
        }, serveOptions(a.base)),
      ),
    );
    const { workflowRunId } = await workflowClient(a.base).trigger({ url: `${ep.base}/sleepy` });
    await until(async () => (await stateOf(b.base, workflowRunId)) === 'RUN_SUCCESS', 15_000);
    await until(() => ep.record.inFlight === 0);
    await a.settled();
    await b.settled();
    expect(after).toBe(1);
    const { runs } = await workflowClient(b.base).logs({ workflowRunId });
    const names = runs[0]!.steps.flatMap((g) =>
      g.steps.map((s) => ('stepName' in s ? s.stepName : '')),
    );
    expect(names).toEqual(['init', 'wait', 'after']);
    // The server that lost the claim published nothing (a second timeout would be refused, told).
    expect([...a.warnings, ...b.warnings]).toEqual([]);
  }, 20_000);

  it('keeps runs and a pending waiter across a restart of every server', async () => {
    const { prefix, a, b } = await twoServers();
    const finished = deferred<void>();
    const got = deferred<unknown>();
    const ep = await endpoint((app) => {
      app.use(
        '/steps',
        serve<string>(async (ctx) => {
          const up = await ctx.run('upper', () => ctx.requestPayload.toUpperCase());
          await ctx.run('length', () => up.length);
          finished.resolve();
        }, serveOptions(a.base)),
      );
      app.use(
        '/waiter',
        serve(async (ctx) => {
          const r = await ctx.waitForEvent('wait', 'after-restart', { timeout: '1h' });
          await ctx.run('got', () => r.eventData);
          got.resolve(r.eventData);
        }, serveOptions(a.base)),
      );
    });
    const client = workflowClient(a.base);
    const done = await client.trigger({ url: `${ep.base}/steps`, body: 'hello' });
    const waiting = await client.trigger({ url: `${ep.base}/waiter` });
    await finished.promise;
    await until(async () => (await stateOf(a.base, done.workflowRunId)) === 'RUN_SUCCESS');
    await until(async () => (await client.getWaiters({ eventId: 'after-restart' })).length === 1);
    await until(() => ep.record.inFlight === 0);

    // Every server stops; a new one starts on the prefix (where the endpoint finds Baton).
    await b.close();
    await a.close();
    const c = await server(prefix, a.port);
    const onC = workflowClient(c.base);
    const { runs } = await onC.logs();
    expect(runs.map((r) => [r.workflowRunId, r.workflowState])).toEqual([
      [waiting.workflowRunId, 'RUN_STARTED'],
      [done.workflowRunId, 'RUN_SUCCESS'],
    ]);
    expect(await onC.getWaiters({ eventId: 'after-restart' })).toHaveLength(1);

    expect(await onC.notify({ eventId: 'after-restart', eventData: 'still here' })).toHaveLength(1);
    expect(await got.promise).toBe('still here');
    await until(async () => (await stateOf(c.base, waiting.workflowRunId)) === 'RUN_SUCCESS');
  });
});
