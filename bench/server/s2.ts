/**
 * S2 (issue 11): deliveries per second to one local destination that answers at once, in the same
 * run, through
 *   - one Baton process on the memory store,
 *   - two Baton processes on one Redis (`--redis … --redis-prefix <unique>`), each sent half the
 *     messages,
 *   - BullMQ on the same Redis: a Queue fed from here and a Worker of concurrency 100 in a process
 *     of its own whose processor POSTs each job to the destination (s2-bullmq-worker.ts).
 * Every implementation gets the same messages: published in batches of 100, 8 batches at a time
 * (Baton: POST /v2/batch, alternating between the two servers; BullMQ: Queue.addBulk), on one
 * flow-control key of parallelism 100 (BullMQ: the worker's concurrency), after a warm-up of the
 * same shape. Deliveries are counted at the destination; the time runs from the first publish to
 * the last first arrival. CPU % (100 = one core) is read from /proc for the server processes and
 * for Redis.
 *
 * The destination and the publisher run in this process; Baton, the worker and Redis in their own.
 * Redis is one of our own (scripts/redis-server.ts); only loopback is used and every port is the
 * kernel's pick. Every process started here is stopped at the end, also on failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Agent, request } from 'undici';
import { startRedis, watchdog, type Running } from '../../scripts/redis-server';
import { formatNumber, formatRatio, formatTable } from '../table';
import type { SectionMeasurement } from './section';

const PARALLELISM = 100;
const BATCH = 100;
/** Batches in flight at once while publishing. */
const BATCHES_AT_ONCE = 8;
const WARMUP = 2_000;
/** A run fails when no new message has arrived for this long. */
const STALL_MS = 30_000;
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

const root = fileURLToPath(new URL('../..', import.meta.url));
const unique = () => randomBytes(4).toString('hex');

export type S2Impl = 'baton (memory)' | 'baton (redis)' | 'baton ×2 (redis)' | 'bullmq';
/** One Baton on Redis is not in the issue's target: it shows what the second server adds. */
export const IMPLS: readonly S2Impl[] = [
  'baton (memory)',
  'baton (redis)',
  'baton ×2 (redis)',
  'bullmq',
];

export interface S2Row {
  impl: S2Impl;
  messages: number;
  /** Unset when the run failed. */
  error?: string;
  deliveriesPerSecond: number;
  elapsedMs: number;
  publishMs: number;
  /** The server processes (Baton, or BullMQ's worker) together; 100 = one core. */
  serverCpu: number;
  redisCpu: number;
  /** This process: the publisher and the destination. */
  loadCpu: number;
  duplicates: number;
}

// ── the destination ──────────────────────────────────────────────────────────────────────────

interface Tally {
  expected: number;
  seen: Set<number>;
  duplicates: number;
  lastArrival: number;
}

/**
 * A destination that answers 200 at once; a message arrives at `/<run>/<n>`, and each run's
 * tally counts its distinct messages and its repeats.
 */
async function destination() {
  const tallies = new Map<string, Tally>();
  const server = createServer((req, res) => {
    const at = performance.now();
    req.resume();
    req.on('end', () => {
      const [, run = '', n = ''] = (req.url ?? '').split('/');
      const tally = tallies.get(run);
      if (tally !== undefined) {
        const i = Number(n);
        if (tally.seen.has(i)) tally.duplicates++;
        else {
          tally.seen.add(i);
          tally.lastArrival = at;
        }
      }
      res.writeHead(200).end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    server,
    /** Starts counting run `run`, which sends `expected` distinct messages. */
    expect(run: string, expected: number): Tally {
      const tally: Tally = { expected, seen: new Set(), duplicates: 0, lastArrival: NaN };
      tallies.set(run, tally);
      return tally;
    },
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
type Destination = Awaited<ReturnType<typeof destination>>;

/**
 * Resolves once every message of `tally` arrived; rejects after `STALL_MS` without a new one, or
 * once `stopped()` says the run is over anyway (its publishing failed).
 */
function arrivedAll(tally: Tally, stopped: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let last = -1;
    let lastChange = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      if (tally.seen.size >= tally.expected) {
        clearInterval(timer);
        resolve();
      } else if (stopped()) {
        clearInterval(timer);
        reject(new Error('stopped'));
      } else if (tally.seen.size !== last) {
        last = tally.seen.size;
        lastChange = now;
      } else if (now - lastChange > STALL_MS) {
        clearInterval(timer);
        reject(
          new Error(
            `stalled: ${tally.seen.size} of ${tally.expected} arrived, none for ${STALL_MS / 1000} s`,
          ),
        );
      }
    }, 20);
  });
}

// ── processes ────────────────────────────────────────────────────────────────────────────────

/** Every process started here, with the watchdog that kills it should this process die first. */
const started = new Map<ChildProcess, ChildProcess>();

function track(child: ChildProcess): void {
  if (child.pid !== undefined) started.set(child, watchdog(child.pid));
}

/** SIGTERM, then SIGKILL after `STOP_TIMEOUT_MS`; resolves once the process is gone. */
function stopProcess(child: ChildProcess): Promise<void> {
  const dog = started.get(child);
  started.delete(child);
  const done =
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        });
  return done.then(() => {
    if (dog?.pid !== undefined) {
      try {
        process.kill(-dog.pid, 'SIGKILL'); // the watchdog leads its own process group
      } catch {
        // already gone
      }
    }
  });
}

/** Kills what is left at once: for an exit that skipped the teardown. */
function killAll(): void {
  for (const child of started.keys()) child.kill('SIGKILL');
}

/** The child's environment without the settings that would change what is measured. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k === 'REDIS_URL' || k === 'PORT' || k === 'HOST' || k.startsWith('BATON_')) delete env[k];
  }
  return env;
}

/**
 * Starts a Node child and resolves once a line of its stdout passes `ready` (which returns what
 * to resolve with); rejects if it exits or stays silent for `START_TIMEOUT_MS`.
 */
function startChild<T>(
  what: string,
  args: string[],
  ready: (line: string) => T | undefined,
): Promise<{ child: ChildProcess; value: T }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  track(child);
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      void stopProcess(child);
      reject(new Error(`${what} ${why}`));
    };
    const timer = setTimeout(
      () => fail(`did not start within ${START_TIMEOUT_MS / 1000} s`),
      START_TIMEOUT_MS,
    );
    child.on('error', (err) => fail(err.message));
    child.on('exit', (code, signal) => fail(`exited (${signal ?? code}) before it was ready`));
    // Read every line, also after the start, so the pipe never fills.
    let resolved = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (resolved) return;
      const value = ready(line);
      if (value === undefined) return;
      resolved = true;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ child, value });
    });
  });
}

/** A Baton server on a port of the kernel's choosing, logging at `info` only to say which. */
async function startBaton(extra: string[]): Promise<{ child: ChildProcess; base: string }> {
  const args = ['server/main.ts', '--host', '127.0.0.1', '--port', '0', '--log-level', 'info'];
  const { child, value: port } = await startChild('Baton', [...args, ...extra], (line) => {
    try {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      return entry.msg?.startsWith('Baton listening') ? entry.port : undefined;
    } catch {
      return undefined;
    }
  });
  return { child, base: `http://127.0.0.1:${port}` };
}

function startBullmqWorker(redisUrl: string, queue: string, dest: string) {
  return startChild(
    'BullMQ worker',
    ['bench/server/s2-bullmq-worker.ts', redisUrl, queue, dest, String(PARALLELISM)],
    (line) => (line === 'READY' ? true : undefined),
  );
}

/** User + system CPU seconds of a process so far, from /proc (NaN where there is none). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

// ── publishing ───────────────────────────────────────────────────────────────────────────────

/** Sends messages 0..n-1 of `run` in batches, `BATCHES_AT_ONCE` at a time. */
async function inBatches(
  n: number,
  send: (from: number, count: number, batch: number) => Promise<void>,
): Promise<void> {
  const pending: Promise<void>[] = [];
  for (let i = 0, b = 0; i < n; i += BATCH, b++) {
    pending.push(send(i, Math.min(BATCH, n - i), b));
    if (pending.length >= BATCHES_AT_ONCE) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

const FLOW = {
  'upstash-flow-control-key': 'bench-s2',
  'upstash-flow-control-value': `parallelism=${PARALLELISM}`,
};

/** Publishes through Baton's API, batch `b` to server `b mod servers`. */
function batonPublisher(bases: readonly string[], dest: string, agent: Agent) {
  return (run: string, n: number) =>
    inBatches(n, async (from, count, b) => {
      const items = Array.from({ length: count }, (_, j) => ({
        destination: `${dest}/${run}/${from + j}`,
        headers: FLOW,
        body: 'x',
      }));
      const res = await request(`${bases[b % bases.length]}/v2/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(items),
        dispatcher: agent,
      });
      const text = await res.body.text();
      if (res.statusCode !== 200 && res.statusCode !== 201)
        throw new Error(`POST /v2/batch answered ${res.statusCode}: ${text.slice(0, 200)}`);
    });
}

function bullmqPublisher(queue: Queue) {
  return (run: string, n: number) =>
    inBatches(n, async (from, count) => {
      await queue.addBulk(
        Array.from({ length: count }, (_, j) => ({
          name: 'm',
          data: { path: `/${run}/${from + j}`, body: 'x' },
        })),
      );
    });
}

// ── one implementation ───────────────────────────────────────────────────────────────────────

interface Target {
  publish: (run: string, n: number) => Promise<void>;
  serverPids: (number | undefined)[];
}

/** A warm-up, then the measured run of `messages`. */
async function measure(
  impl: S2Impl,
  target: Target,
  dest: Destination,
  messages: number,
  redisPid: number | undefined,
): Promise<S2Row> {
  const run = async (name: string, n: number) => {
    const tally = dest.expect(name, n);
    const cpu0 = target.serverPids.map(cpuSeconds);
    const redis0 = cpuSeconds(redisPid);
    const load0 = process.cpuUsage();
    const t0 = performance.now();
    let publishMs = NaN;
    let failed = false;
    const published = target.publish(name, n).then(
      () => void (publishMs = performance.now() - t0),
      (err: unknown) => {
        failed = true;
        throw err;
      },
    );
    await Promise.all([published, arrivedAll(tally, () => failed)]);
    const elapsedMs = tally.lastArrival - t0;
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = target.serverPids.map(cpuSeconds);
    const load = process.cpuUsage(load0);
    const pct = (s: number) => (s / seconds) * 100;
    return {
      impl,
      messages: n,
      deliveriesPerSecond: (n / elapsedMs) * 1000,
      elapsedMs,
      publishMs,
      serverCpu: pct(cpu1.reduce((sum, c, i) => sum + c - (cpu0[i] ?? NaN), 0)),
      redisCpu: redisPid === undefined ? NaN : pct(cpuSeconds(redisPid) - redis0),
      loadCpu: pct((load.user + load.system) / 1e6),
      duplicates: tally.duplicates,
    } satisfies S2Row;
  };
  const tag = {
    'baton (memory)': 'mem',
    'baton (redis)': 'redis1',
    'baton ×2 (redis)': 'redis2',
    bullmq: 'bull',
  }[impl];
  await run(`${tag}-warm`, Math.min(WARMUP, messages));
  return run(tag, messages);
}

/** Runs one implementation from start to stop; a failure becomes a row with its reason. */
async function runImpl(
  impl: S2Impl,
  dest: Destination,
  redis: { url: string; pid: number | undefined },
  messages: number,
): Promise<S2Row> {
  const agent = new Agent({ connections: 64, keepAliveTimeout: 60_000 });
  const children: ChildProcess[] = [];
  let queue: Queue | undefined;
  try {
    let target: Target;
    if (impl === 'bullmq') {
      const name = `bench-s2-${unique()}`;
      const { hostname, port } = new URL(redis.url);
      queue = new Queue(name, {
        connection: { host: hostname, port: Number(port) },
        // Completed jobs are dropped, as Baton keeps no per-message record in Redis.
        defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
      });
      await queue.waitUntilReady();
      const worker = await startBullmqWorker(redis.url, name, dest.url);
      children.push(worker.child);
      target = { publish: bullmqPublisher(queue), serverPids: [worker.child.pid] };
    } else {
      const extra =
        impl === 'baton (memory)'
          ? []
          : ['--redis', redis.url, '--redis-prefix', `bench-s2-${unique()}:`];
      const servers = await Promise.all(
        Array.from({ length: impl === 'baton ×2 (redis)' ? 2 : 1 }, () => startBaton(extra)),
      );
      children.push(...servers.map((s) => s.child));
      target = {
        publish: batonPublisher(
          servers.map((s) => s.base),
          dest.url,
          agent,
        ),
        serverPids: servers.map((s) => s.child.pid),
      };
    }
    return await measure(
      impl,
      target,
      dest,
      messages,
      impl === 'baton (memory)' ? undefined : redis.pid,
    );
  } catch (err) {
    return {
      impl,
      messages,
      error: err instanceof Error ? err.message.split('\n')[0] : String(err),
      deliveriesPerSecond: NaN,
      elapsedMs: NaN,
      publishMs: NaN,
      serverCpu: NaN,
      redisCpu: NaN,
      loadCpu: NaN,
      duplicates: NaN,
    };
  } finally {
    await Promise.all(children.map(stopProcess));
    if (queue !== undefined) {
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    }
    await agent.close();
  }
}

// ── the section ──────────────────────────────────────────────────────────────────────────────

export const s2Messages = (quick: boolean): number => (quick ? 20_000 : 100_000);

/** Runs S2; returns its measurements and its part of the report. */
export async function s2Section(
  quick: boolean,
  /** Runs only these (all by default): for comparing changes, not for the report's targets. */
  only: readonly S2Impl[] = IMPLS,
): Promise<{ measurements: SectionMeasurement[]; report: string }> {
  const messages = s2Messages(quick);
  const loadBefore = os.loadavg()[0] ?? NaN;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-bench-s2-'));
  process.on('exit', killAll);
  const rows: S2Row[] = [];
  let dest: Destination | undefined;
  let redis: Running | undefined;
  try {
    redis = await startRedis(dir);
    track(redis.child);
    dest = await destination();
    const url = `redis://127.0.0.1:${redis.port}`;
    for (const impl of IMPLS.filter((i) => only.includes(i))) {
      process.stderr.write(`S2 ${impl} (${messages} messages)… `);
      const t0 = performance.now();
      const row = await runImpl(impl, dest, { url, pid: redis.child.pid }, messages);
      rows.push(row);
      process.stderr.write(
        `${((performance.now() - t0) / 1000).toFixed(1)} s${row.error ? ` FAILED: ${row.error}` : ''}\n`,
      );
    }
  } finally {
    dest?.close();
    // Redis last: stopProcess also ends its watchdog.
    await Promise.all([...started.keys()].filter((c) => c !== redis?.child).map(stopProcess));
    if (redis !== undefined) await stopProcess(redis.child);
    process.off('exit', killAll);
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAfter = os.loadavg()[0] ?? NaN;
  return {
    measurements: measurementsOf(rows),
    report: reportOf(rows, messages, loadBefore, loadAfter),
  };
}

function measurementsOf(rows: readonly S2Row[]): SectionMeasurement[] {
  return rows
    .filter((r) => r.error === undefined)
    .flatMap((r) =>
      (
        [
          ['messages', r.messages],
          ['deliveries/s', r.deliveriesPerSecond],
          ['elapsed s', r.elapsedMs / 1000],
          ['publish s', r.publishMs / 1000],
          ['server CPU %', r.serverCpu],
          ['redis CPU %', r.redisCpu],
          ['duplicates', r.duplicates],
        ] as const
      )
        .filter(([, value]) => Number.isFinite(value))
        .map(([metric, value]) => ({ workload: 'S2', impl: r.impl, metric, value })),
    );
}

function reportOf(
  rows: readonly S2Row[],
  messages: number,
  loadBefore: number,
  loadAfter: number,
): string {
  const bull = rows.find((r) => r.impl === 'bullmq');
  const pair = rows.find((r) => r.impl === 'baton ×2 (redis)');
  const cell = (r: S2Row, v: number, unit = '') =>
    r.error !== undefined || !Number.isFinite(v) ? '–' : `${formatNumber(v)}${unit}`;
  const table = formatTable(
    [
      [
        'impl',
        'messages',
        'deliveries/s',
        'vs bullmq',
        'elapsed',
        'publish',
        'server CPU',
        'redis CPU',
        'load CPU',
        'dupes',
      ],
      ...rows.map((r) => [
        r.impl,
        formatNumber(r.messages),
        r.error !== undefined ? 'failed' : formatNumber(r.deliveriesPerSecond),
        r.error === undefined && bull !== undefined && bull.error === undefined
          ? formatRatio(r.deliveriesPerSecond / bull.deliveriesPerSecond)
          : '',
        cell(r, r.elapsedMs / 1000, ' s'),
        cell(r, r.publishMs / 1000, ' s'),
        cell(r, r.serverCpu, '%'),
        cell(r, r.redisCpu, '%'),
        cell(r, r.loadCpu, '%'),
        r.error !== undefined ? '–' : String(r.duplicates),
      ]),
    ],
    ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  const failures = rows
    .filter((r) => r.error !== undefined)
    .map((r) => `    ${r.impl} failed: ${r.error}`);
  const ok = (r: S2Row | undefined): r is S2Row => r !== undefined && r.error === undefined;
  const state = (r: S2Row | undefined) => (r === undefined ? 'not run' : 'failed');
  const measured = ok(pair) ? formatNumber(pair.deliveriesPerSecond) : state(pair);
  const goal = ok(bull)
    ? `≥ bullmq (${formatNumber(bull.deliveriesPerSecond)})`
    : `≥ bullmq (${state(bull)})`;
  const pass = ok(pair) && ok(bull) && pair.deliveriesPerSecond >= bull.deliveriesPerSecond;
  return [
    `S2  servers: ${formatNumber(messages)} messages (after ${formatNumber(Math.min(WARMUP, messages))} of warm-up) to one local`,
    `    destination that answers at once, on one flow-control key of parallelism ${PARALLELISM}, published`,
    `    in batches of ${BATCH}, ${BATCHES_AT_ONCE} at a time: through one Baton process in memory; one, then two Baton`,
    '    processes on one Redis (two: each sent half the batches); BullMQ on the same Redis',
    `    (Queue.addBulk from here; a Worker of concurrency ${PARALLELISM} in its own process POSTs each job`,
    '    with undici; completed jobs removed). elapsed: first publish → last arrival; publish: until',
    '    every publish was answered. CPU: 100% = one core over the run; server = the Baton processes',
    '    or the worker, load = this process (the publisher and the destination).',
    `    Load average ${formatNumber(loadBefore)} before, ${formatNumber(loadAfter)} after (${os.availableParallelism()} CPUs).`,
    ...failures,
    '',
    table,
    '',
    'targets (S2)',
    formatTable(
      [
        ['target', 'goal', 'measured', ''],
        ['S2 two servers on Redis ≥ BullMQ', goal, measured, pass ? 'PASS' : 'MISS'],
      ],
      ['left', 'left', 'right', 'left'],
    ),
  ].join('\n');
}
