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
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { startRedis, type Running } from '../../scripts/redis-server';
import { formatNumber, formatRatio, formatTable } from '../table';
import { arrivedAll, destination, type Destination } from './s2-destination';
import { cpuSeconds } from './processes';
import { killAll, started, startChild, stopProcess, track } from './s2-processes';
import type { SectionMeasurement } from './section';

const PARALLELISM = 100;
const BATCH = 100;
/** Batches in flight at once while publishing. */
const BATCHES_AT_ONCE = 8;
const WARMUP = 2_000;
const unique = () => randomBytes(4).toString('hex');

export type S2Impl = 'baton (memory)' | 'baton (redis)' | 'baton ×2 (redis)' | 'bullmq';
/** One Baton on Redis is not in the issue's target: it shows what the second server adds. */
export const IMPLS: readonly S2Impl[] = [
  'baton (memory)',
  'baton (redis)',
  'baton ×2 (redis)',
  'bullmq',
];

/** What else to measure (s2-main.ts): for finding where the time goes, not for the report. */
export interface S2Probes {
  /** Report Redis's `INFO commandstats` over each measured run, per delivery. */
  commandstats?: boolean;
  /** Write a CPU profile of each Baton server here (`node --cpu-prof`), warm-up included. */
  cpuProfDir?: string;
}

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
  /** CPU time per delivery, µs: the server processes together, and Redis. */
  serverUs: number;
  redisUs: number;
  /** Redis's `INFO commandstats` over the measured run, per delivery (when asked for). */
  commandstats?: string;
  /** This process: the publisher and the destination. */
  loadCpu: number;
  duplicates: number;
}

/** A Baton server on a port of the kernel's choosing, logging at `info` only to say which. */
async function startBaton(
  extra: string[],
  probes: S2Probes,
): Promise<{ child: ChildProcess; base: string }> {
  const prof =
    probes.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', probes.cpuProfDir];
  const args = [
    ...prof,
    'server/main.ts',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--log-level',
    'info',
  ];
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
  /** A connection to Redis whose `INFO commandstats` the measured run is reported with. */
  stats?: Redis,
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
    const redis1 = cpuSeconds(redisPid);
    const load = process.cpuUsage(load0);
    const pct = (s: number) => (s / seconds) * 100;
    const server = cpu1.reduce((sum, c, i) => sum + c - (cpu0[i] ?? NaN), 0);
    const redisSeconds = redisPid === undefined ? NaN : redis1 - redis0;
    return {
      impl,
      messages: n,
      deliveriesPerSecond: (n / elapsedMs) * 1000,
      elapsedMs,
      publishMs,
      serverCpu: pct(server),
      redisCpu: pct(redisSeconds),
      serverUs: (server / n) * 1e6,
      redisUs: (redisSeconds / n) * 1e6,
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
  if (stats === undefined) return run(tag, messages);
  await stats.call('CONFIG', 'RESETSTAT');
  const row = await run(tag, messages);
  const info = String(await stats.call('INFO', 'commandstats'));
  return { ...row, commandstats: commandstatsOf(info, messages) };
}

/** Runs one implementation from start to stop; a failure becomes a row with its reason. */
async function runImpl(
  impl: S2Impl,
  dest: Destination,
  redis: { url: string; pid: number | undefined },
  messages: number,
  probes: S2Probes,
): Promise<S2Row> {
  const agent = new Agent({ connections: 64, keepAliveTimeout: 60_000 });
  const children: ChildProcess[] = [];
  let queue: Queue | undefined;
  const stats =
    probes.commandstats === true && impl !== 'baton (memory)' ? new Redis(redis.url) : undefined;
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
        Array.from({ length: impl === 'baton ×2 (redis)' ? 2 : 1 }, () =>
          startBaton(extra, probes),
        ),
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
      stats,
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
      serverUs: NaN,
      redisUs: NaN,
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
    await stats?.quit();
  }
}

/** `INFO commandstats` as calls and µs per delivery, the costliest first. */
function commandstatsOf(info: string, deliveries: number): string {
  const rows: Array<[string, number, number]> = [];
  for (const line of info.split('\r\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (m !== null) rows.push([m[1]!, Number(m[2]) / deliveries, Number(m[3]) / deliveries]);
  }
  rows.sort((a, b) => b[2] - a[2]);
  return formatTable(
    [
      ['command', 'calls/delivery', 'µs/delivery'],
      ...rows.map(([name, calls, us]) => [name, calls.toFixed(3), us.toFixed(1)]),
    ],
    ['left', 'right', 'right'],
  );
}

// ── the section ──────────────────────────────────────────────────────────────────────────────

export const s2Messages = (quick: boolean): number => (quick ? 20_000 : 100_000);

/** Runs S2; returns its measurements and its part of the report. */
export async function s2Section(
  quick: boolean,
  /** Runs only these (all by default): for comparing changes, not for the report's targets. */
  only: readonly S2Impl[] = IMPLS,
  probes: S2Probes = {},
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
      const row = await runImpl(impl, dest, { url, pid: redis.child.pid }, messages, probes);
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
          ['server CPU µs per delivery', r.serverUs],
          ['redis CPU µs per delivery', r.redisUs],
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
        'server µs/msg',
        'redis µs/msg',
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
        cell(r, r.serverUs),
        cell(r, r.redisUs),
        cell(r, r.loadCpu, '%'),
        r.error !== undefined ? '–' : String(r.duplicates),
      ]),
    ],
    ['left', ...Array<'right'>(11).fill('right')],
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
  const stats = rows
    .filter((r) => r.commandstats !== undefined)
    .flatMap((r) => ['', `Redis commands during ${r.impl}, per delivery`, r.commandstats!]);
  return [
    `S2  servers: ${formatNumber(messages)} messages (after ${formatNumber(Math.min(WARMUP, messages))} of warm-up) to one local`,
    `    destination that answers at once, on one flow-control key of parallelism ${PARALLELISM}, published`,
    `    in batches of ${BATCH}, ${BATCHES_AT_ONCE} at a time: through one Baton process in memory; one, then two Baton`,
    '    processes on one Redis (two: each sent half the batches); BullMQ on the same Redis',
    `    (Queue.addBulk from here; a Worker of concurrency ${PARALLELISM} in its own process POSTs each job`,
    '    with undici; completed jobs removed). elapsed: first publish → last arrival; publish: until',
    '    every publish was answered. CPU: 100% = one core over the run; server = the Baton processes',
    '    or the worker, load = this process (the publisher and the destination); µs/msg: CPU time per',
    '    delivery.',
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
    ...stats,
  ].join('\n');
}
