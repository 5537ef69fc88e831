/**
 * The Upstash Workflow "Parallelism" page, run against Baton: a `user-signup` workflow served by a
 * small Express app, and many runs of it triggered with `flowControl: { key: 'user-signup',
 * parallelism: 10 }`. Open the dashboard while it runs: ten steps hold the key's ten tokens, the
 * rest wait in the waitlist, and each finishing step hands its token to the next.
 *
 *   npm start                     # Baton, in another terminal
 *   npm run example:workflow      # this file; --help for the options
 *
 * Nothing here is Baton-specific: it is an ordinary `@upstash/workflow` app whose QStash is Baton.
 */
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import express from 'express';
import { Client as QStashClient, Receiver } from '@upstash/qstash';
import { Client } from '@upstash/workflow';
import { serve } from '@upstash/workflow/express';

const HELP = `Usage: npm run example:workflow -- [options]

Triggers runs of a "user-signup" workflow under flowControl { key: "user-signup", parallelism: 10 }
against a running Baton, then waits until every run has finished.

Options:
  --runs <n>      how many runs to trigger (env RUNS, default 40)
  --step-ms <ms>  how long each step works, ±25% (env STEP_MS, default 2000)
  --keep          stay up after the runs finish (Ctrl-C to stop)
  --help          show this text

Environment:
  BATON_URL       where Baton listens (default http://127.0.0.1:8080, the npm start default)
  BATON_TOKEN     Baton's token, if it was started with one`;

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: process.env.RUNS ?? '40' },
    'step-ms': { type: 'string', default: process.env.STEP_MS ?? '2000' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  console.log(HELP);
  process.exit(0);
}
const runs = Number(opts.runs);
const stepMs = Number(opts['step-ms']);
if (!Number.isInteger(runs) || runs < 1 || !(stepMs >= 0)) {
  console.error(`--runs must be a whole number ≥ 1 and --step-ms a number of ms ≥ 0\n\n${HELP}`);
  process.exit(2);
}
const batonUrl = (process.env.BATON_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const token = process.env.BATON_TOKEN ?? 'dev-token'; // any token will do when Baton has none
const flowControl = { key: 'user-signup', parallelism: 10 };

/** Baton's signing keys, so the workflow endpoint verifies that its calls come from Baton. */
async function signingKeys(): Promise<{ current: string; next: string }> {
  let res: Response;
  try {
    res = await fetch(`${batonUrl}/v2/keys`, { headers: { authorization: `Bearer ${token}` } });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? String(err);
    throw new Error(
      `cannot reach Baton at ${batonUrl} (${reason}).\n` +
        `Start it in another terminal with \`npm start\`, or set BATON_URL to where it listens.`,
      { cause: err },
    );
  }
  if (res.status === 401)
    throw new Error(`Baton at ${batonUrl} refused the token: set BATON_TOKEN to its --token.`);
  if (!res.ok) throw new Error(`GET ${batonUrl}/v2/keys answered ${res.status}: is it Baton?`);
  return (await res.json()) as { current: string; next: string };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let stepsDone = 0;
/** A step's work: `stepMs` give or take 25%, so steps finish apart and hand their tokens on one by one. */
async function work(): Promise<void> {
  await sleep(stepMs * (0.75 + Math.random() * 0.5));
  stepsDone++;
}

async function main(): Promise<void> {
  const keys = await signingKeys();

  // The workflow, as the docs write one: each context.run is a step, each step one call from QStash.
  const app = express();
  app.use(express.json());
  app.use(
    '/api/user-signup',
    serve<{ email: string }>(
      async (context) => {
        const { email } = context.requestPayload;
        const userId = await context.run('create-account', async () => {
          await work();
          return `user_${email.split('@')[0]}`;
        });
        await context.run('send-welcome-email', async () => {
          await work();
          return `welcome sent to ${email}`;
        });
        await context.sleep('wait-before-followup', 2); // a sleep holds no token
        await context.run('send-followup', async () => {
          await work();
          return `follow-up sent to ${userId}`;
        });
      },
      {
        qstashClient: new QStashClient({ baseUrl: batonUrl, token }),
        receiver: new Receiver({ currentSigningKey: keys.current, nextSigningKey: keys.next }),
      },
    ),
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/user-signup`;
  console.log(`workflow endpoint: ${url}`);

  // Trigger the runs, as the Parallelism page does, all at once.
  const client = new Client({ baseUrl: batonUrl, token });
  const started = await client.trigger(
    Array.from({ length: runs }, (_, i) => ({
      url,
      body: { email: `user${i + 1}@example.com` },
      flowControl,
    })),
  );
  const dashboard = process.env.BATON_TOKEN ? `${batonUrl}/?token=${token}` : batonUrl;
  console.log(
    `triggered ${started.length} runs of user-signup under flowControl ${JSON.stringify(flowControl)}\n` +
      `watch them: open ${dashboard} and pick the key "user-signup" —\n` +
      `10 steps hold the 10 tokens, the rest wait in the waitlist.`,
  );

  // Until every run has finished, report progress from Baton's workflow logs.
  const ids = new Set(started.map((r) => r.workflowRunId));
  const t0 = Date.now();
  let reported = '';
  for (;;) {
    const finished = new Map<string, string>();
    let cursor: string | undefined;
    do {
      const page = await client.logs({ filter: { workflowUrl: url }, count: 1000, cursor });
      for (const run of page.runs) {
        if (ids.has(run.workflowRunId) && run.workflowState !== 'RUN_STARTED')
          finished.set(run.workflowRunId, run.workflowState);
      }
      cursor = page.cursor || undefined;
    } while (cursor !== undefined);
    const progress = `steps done ${stepsDone}/${3 * ids.size}, runs finished ${finished.size}/${ids.size}`;
    if (progress !== reported) {
      reported = progress;
      console.log(`${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s  ${progress}`);
    }
    if (finished.size === ids.size) {
      const failed = [...finished.values()].filter((state) => state !== 'RUN_SUCCESS').length;
      console.log(failed === 0 ? 'all runs succeeded' : `${failed} runs did not succeed`);
      if (opts.keep) {
        console.log('--keep: the endpoint stays up; Ctrl-C to stop');
        return;
      }
      server.close();
      process.exit(failed === 0 ? 0 : 1);
    }
    await sleep(1000);
  }
}

process.on('SIGINT', () => process.exit(130));
main().catch((err: unknown) => {
  console.error(`example:workflow: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
