/**
 * The server benchmark (issue: QStash-compatible server): messages per second through a real Baton
 * process to a local destination that answers at once (parallelism 100), and the latency Baton adds
 * to one delivery, each compared with the same destination called directly in the same run.
 *
 * Baton runs as its own process (as a user runs it); the destination and the load generator share
 * this one. Only loopback is used, with bounded counts.
 * Usage: `node --import tsx bench/server/throughput.ts <messages> <latencySamples>`; prints `RESULT <json>`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

const PARALLELISM = 100;
const BATCH = 100;
const root = fileURLToPath(new URL('../..', import.meta.url));

interface Measurement {
  workload: string;
  impl: string;
  metric: string;
  value: number;
}

/** A destination that answers 200 at once and calls `onRequest` with the arrival time. */
async function destination(onRequest: (path: string, at: number) => void) {
  const server = createServer((req, res) => {
    const at = performance.now();
    req.resume();
    req.on('end', () => {
      onRequest(req.url ?? '', at);
      res.writeHead(200).end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function startBaton(): Promise<{ child: ChildProcess; base: string }> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'server/main.ts', '--port', String(port), '--log-level', 'warn'],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return { child, base };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error('Baton did not start');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const messages = Number(process.argv[2] ?? 20_000);
  const samples = Number(process.argv[3] ?? 1000);
  const agent = new Agent({ connections: 256, keepAliveTimeout: 60_000 });
  const arrivals = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  let received = 0;
  let allReceived: () => void = () => {};
  const dest = await destination((path, at) => {
    received++;
    arrivals.set(path, at);
    waiting.get(path)?.(at);
    if (received === expected) allReceived();
  });
  /** Resolves with the arrival time of `path` at the destination. */
  const arrivalOf = (path: string) =>
    new Promise<number>((resolve) => {
      const seen = arrivals.get(path);
      if (seen !== undefined) resolve(seen);
      else waiting.set(path, resolve);
    });
  let expected = 0;
  const baton = await startBaton();
  const out: Measurement[] = [];
  const push = (impl: string, metric: string, value: number) =>
    out.push({ workload: 'S1', impl, metric, value });
  try {
    // Throughput through Baton: publish in batches (as a busy app would), wait for every delivery.
    const flow = {
      'upstash-flow-control-key': 'bench',
      'upstash-flow-control-value': `parallelism=${PARALLELISM}`,
    };
    const warm = async (n: number) => {
      received = 0;
      expected = n;
      const done = new Promise<void>((r) => (allReceived = r));
      const t0 = performance.now();
      const batches: Promise<unknown>[] = [];
      for (let i = 0; i < n; i += BATCH) {
        const items = Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => ({
          destination: `${dest.url}/m${i + j}`,
          headers: flow,
          body: 'x',
        }));
        batches.push(
          request(`${baton.base}/v2/batch`, {
            method: 'POST',
            body: JSON.stringify(items),
            dispatcher: agent,
          }).then((r) => r.body.dump()),
        );
        if (batches.length >= 8) await Promise.all(batches.splice(0));
      }
      await Promise.all(batches);
      await done;
      return performance.now() - t0;
    };
    await warm(Math.min(2000, messages));
    const batonMs = await warm(messages);
    push('baton', 'messages', messages);
    push('baton', 'deliveries/s', (messages / batonMs) * 1000);

    // The same destination called directly, 100 at a time.
    received = 0;
    expected = messages;
    const direct0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLELISM }, async () => {
        while (next < messages) {
          const i = next++;
          const r = await request(`${dest.url}/d${i}`, {
            method: 'POST',
            body: 'x',
            dispatcher: agent,
          });
          await r.body.dump();
        }
      }),
    );
    push('direct', 'messages', messages);
    push('direct', 'deliveries/s', (messages / (performance.now() - direct0)) * 1000);

    // Latency, one message at a time: from sending the publish to the destination's arrival,
    // against sending the request to the destination directly.
    const viaBaton: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < samples; i++) {
      expected = Number.POSITIVE_INFINITY;
      const path = `/l${i}`;
      let t0 = performance.now();
      const res = await request(`${baton.base}/v2/publish/${dest.url}${path}`, {
        method: 'POST',
        headers: flow,
        body: 'x',
        dispatcher: agent,
      });
      await res.body.dump();
      viaBaton.push((await arrivalOf(path)) - t0);
      t0 = performance.now();
      const d = await request(`${dest.url}/dl${i}`, {
        method: 'POST',
        body: 'x',
        dispatcher: agent,
      });
      await d.body.dump();
      direct.push((arrivals.get(`/dl${i}`) as number) - t0);
    }
    viaBaton.sort((a, b) => a - b);
    direct.sort((a, b) => a - b);
    push('baton', 'latency p50 ms', percentile(viaBaton, 50));
    push('baton', 'latency p99 ms', percentile(viaBaton, 99));
    push('direct', 'latency p50 ms', percentile(direct, 50));
    push('direct', 'latency p99 ms', percentile(direct, 99));
    push('baton', 'added p50 ms', percentile(viaBaton, 50) - percentile(direct, 50));
    push('baton', 'added p99 ms', percentile(viaBaton, 99) - percentile(direct, 99));
  } finally {
    baton.child.kill();
    await agent.close();
    dest.server.closeAllConnections();
    dest.server.close();
  }
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
