import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { startApp, type Running } from './helpers';
import { until, workflowClient } from './workflow-endpoint';

const RUNS = 200;
const STEPS = 5;
const STEP_MS = 30;
const PARALLELISM = 10;

interface EndpointRecord {
  calls: Array<{ path: string; start: number; end: number }>;
  maxInFlight: number;
  totals: Record<string, number>;
}

let baton: Running;
let child: ChildProcess | undefined;
afterEach(async () => {
  child?.kill('SIGTERM');
  await baton?.close();
});

/** Starts the endpoint in its own process; resolves with its base URL. */
async function startEndpoint(batonBase: string): Promise<string> {
  const script = fileURLToPath(new URL('./fixtures/signup-endpoint.ts', import.meta.url));
  child = spawn(
    process.execPath,
    ['--import', 'tsx', script, batonBase, String(STEPS), String(STEP_MS)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child!.stdout! }).once('line', resolve);
    child!.once('exit', (code) => reject(new Error(`endpoint exited with ${code}`)));
  });
  return `http://127.0.0.1:${(JSON.parse(first) as { port: number }).port}`;
}

it(`runs ${RUNS} runs of a ${STEPS}-step workflow under parallelism ${PARALLELISM}: never more than ${PARALLELISM} calls at once, in the time ${PARALLELISM} tokens allow`, async () => {
  baton = await startApp();
  const endpoint = await startEndpoint(baton.base);
  const get = async <T>(path: string) => (await (await fetch(`${endpoint}${path}`)).json()) as T;
  // How long Baton held each call's token: from the start of the attempt to the endpoint's answer.
  let tokenBusy = 0;
  baton.app.controller.onEvents((events) => {
    for (const e of events) if (e.type === 'delivery:succeeded') tokenBusy += e.durationMs;
  });
  const client = workflowClient(baton.base);
  const started = performance.now();
  await client.trigger(
    Array.from({ length: RUNS }, (_, i) => ({
      url: `${endpoint}/signup`,
      body: { i },
      flowControl: { key: 'user-signup', parallelism: PARALLELISM },
    })),
  );
  await until(async () => {
    const p = await get<{ finished: number; inFlight: number }>('/_progress');
    return p.finished === RUNS && p.inFlight === 0;
  }, 50_000);
  const elapsed = performance.now() - started;
  const r = await get<EndpointRecord>('/_record');

  // Every run finished with the right value.
  expect(Object.values(r.totals).every((t) => t === (STEPS * (STEPS + 1)) / 2)).toBe(true);
  // One call per step, and the last one, which finds every step done and ends the run.
  const calls = r.calls.filter((c) => c.path === '/signup');
  expect(calls).toHaveLength(RUNS * (STEPS + 1));
  expect(r.maxInFlight).toBe(PARALLELISM);
  // What ten tokens allow: every call's time (from Baton starting it to the endpoint's answer)
  // shared by ten tokens that are never idle. The endpoint's own view of a call is shorter: it
  // starts once its event loop reads the request (with ten calls at once, that queue is its own).
  const ideal = tokenBusy / PARALLELISM;
  const served = calls.reduce((sum, c) => sum + (c.end - c.start), 0) / PARALLELISM;
  const over = (x: number) => `${((elapsed / x - 1) * 100).toFixed(1)}% over`;
  console.log(
    `${RUNS} runs, ${calls.length} calls in ${elapsed.toFixed(0)} ms; ten tokens allow ${ideal.toFixed(0)} ms (${over(ideal)}); the endpoint served for ${served.toFixed(0)} ms a token (${over(served)})`,
  );
  expect(elapsed).toBeLessThanOrEqual(ideal * 1.2);
}, 60_000);
