/**
 * S3, the soak (issue: hardening): a Baton process under a mixed stream of publishes for minutes,
 * about 1,000 messages waiting on 100 keys throughout and 50 dashboards connected, then a drain.
 * It measures publishes accepted per second and their latency at the client, the events the
 * dashboards receive, and the Baton process's memory: idle, at its peak, and after the drain.
 *
 * Processes: Baton as an operator starts it (`node --import tsx server/main.ts --port 0`); the 50
 * dashboards in a child of their own (`soak-dashboards.ts`); the load generator here. Loopback only,
 * bounded times and counts, no fixed port.
 *
 * The load: `CLIENTS` HTTP clients (undici, keep-alive), each in a closed loop, publish to 100 keys
 * of four kinds (see `KINDS`): simulated destinations of 50–400 ms, some failing 5% of attempts
 * with one retry, some keys with a rate; 5% of requests are `/v2/batch` of up to 25 messages, 5% of
 * messages are delayed 1–3 s, 5% carry a 4–64 KB body. What keeps ~1,000 waiting is a credit per
 * missing waiter: every `POLL_MS` the generator reads `GET /v2/flowControl` and gives each key the
 * credits it lacks of `TOP_UP_TO` waiting (less its delayed messages not yet due and its publishes
 * not yet answered); a client publishes only against a credit. So the publish rate settles at what
 * the keys deliver, and the polls are also the waiting count this reports.
 *
 * Usage: `node --import tsx bench/server/soak.ts <seconds> [warmupSeconds]`; prints `RESULT <json>`.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import type { DashboardsIn, DashboardsOut, DashboardsReport, ProbeReport } from './soak-dashboards';
import { cpuSeconds, rssMb } from './processes';
import { Load, POLL_MS } from './soak-load';

const DASHBOARDS = 50;
/** Concurrent HTTP clients of the load generator. */
const CLIENTS = 16;
const RSS_EVERY_MS = 250;
/** After the drain, how long Baton idles before its memory is read. */
const AFTER_DRAIN_MS = 5_000;
const DRAIN_LIMIT_MS = 60_000;

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Measurement {
  workload: string;
  impl: string;
  metric: string;
  value: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

interface Baton {
  base: string;
  pid: number;
  /** Log lines at level error or above (pino: ≥ 50): how many, and the first few. */
  errors: { count: number; first: string[] };
  stop(): Promise<void>;
}

/** Starts `server/main.ts` on `--port 0` and reads the port from its "Baton listening on" line. */
async function startBaton(): Promise<Baton> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'server/main.ts',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--log-level',
      'info',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const errors = { count: 0, first: [] as string[] };
  let pending = '';
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Baton did not start within 30 s')), 30_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const m = /Baton listening on (http:\/\/[\d.]+:\d+)/.exec(line);
        if (m !== null) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
        if (/"level":(5\d|60)\b/.test(line) && errors.count++ < 3) errors.first.push(line);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`Baton exited with ${child.exitCode} before listening`));
    });
  });
  return {
    base,
    pid: child.pid ?? -1,
    errors,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** The dashboards' process, and a typed request/answer over its IPC channel. */
async function startDashboards(base: string) {
  const child = fork(
    fileURLToPath(new URL('./soak-dashboards.ts', import.meta.url)),
    [base, String(DASHBOARDS)],
    { cwd: root, execArgv: ['--import', 'tsx'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <T extends DashboardsOut['type']>(type: T) =>
    new Promise<Extract<DashboardsOut, { type: T }>>((resolve, reject) => {
      const onMessage = (m: DashboardsOut) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        resolve(m as Extract<DashboardsOut, { type: T }>);
      };
      child.on('message', onMessage);
      void exited.then(() => reject(new Error('the dashboards process exited')));
    });
  const ask = <T extends DashboardsOut['type']>(m: DashboardsIn, answer: T) => {
    const p = next(answer);
    child.send(m);
    return p;
  };
  const ready = next('ready');
  await Promise.race([
    ready,
    sleep(30_000).then(() => {
      throw new Error('the dashboards did not all connect within 30 s');
    }),
  ]);
  return {
    pid: child.pid ?? -1,
    mark: () => ask({ type: 'mark' }, 'marked'),
    report: async (): Promise<DashboardsReport> => (await ask({ type: 'report' }, 'report')).report,
    probe: async (): Promise<ProbeReport> => (await ask({ type: 'probe' }, 'probe')).probe,
    async close() {
      if (child.exitCode !== null) return;
      child.send({ type: 'close' } satisfies DashboardsIn);
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** RSS of `pid` every `RSS_EVERY_MS`, each sample with its time. */
function rssSampler(pid: number) {
  const samples: Array<{ at: number; mb: number }> = [];
  const read = () => samples.push({ at: performance.now(), mb: rssMb(pid) });
  read();
  const timer = setInterval(read, RSS_EVERY_MS);
  return {
    /** Largest sample since `from`. */
    peakSince: (from: number) => Math.max(...samples.filter((s) => s.at >= from).map((s) => s.mb)),
    /** Median of the samples of the last `ms`. */
    recent(ms: number) {
      const since = performance.now() - ms;
      const xs = samples
        .filter((s) => s.at >= since)
        .map((s) => s.mb)
        .sort((a, b) => a - b);
      return percentile(xs, 50);
    },
    stop: () => clearInterval(timer),
  };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 120);
  const warmupSeconds = Number(process.argv[3] ?? 10);
  const out: Measurement[] = [];
  const push = (metric: string, value: number) =>
    out.push({ workload: 'S3', impl: 'baton', metric, value });
  const log = (s: string) => process.stderr.write(`  S3 ${s}\n`);

  const baton = await startBaton();
  const agent = new Agent({ connections: CLIENTS * 2, keepAliveTimeout: 60_000 });
  let dashboards: Awaited<ReturnType<typeof startDashboards>> | undefined;
  const rss = rssSampler(baton.pid);
  try {
    dashboards = await startDashboards(baton.base);
    await sleep(2_000);
    const idle = rss.recent(1_500);
    log(`idle RSS ${idle.toFixed(0)} MB with ${DASHBOARDS} dashboards connected`);

    const load = new Load(baton.base, agent);
    const loadStart = performance.now();
    await load.fill();
    const polling = load.pollLoop();
    const clients = Array.from({ length: CLIENTS }, () => load.client());
    await sleep(warmupSeconds * 1000);

    // The measured window.
    load.mark();
    await dashboards.mark();
    const cpu0 = cpuSeconds(baton.pid);
    const dashCpu0 = cpuSeconds(dashboards.pid);
    const ownCpu0 = process.cpuUsage();
    const win0 = performance.now();
    const progress = setInterval(() => {
      const s = load.samples.at(-1);
      log(
        `${((performance.now() - win0) / 1000).toFixed(0)} s: ${load.accepted} accepted, ` +
          `${s?.waiting ?? '?'} waiting, ${s?.inFlight ?? '?'} in flight, RSS ${rss.recent(300).toFixed(0)} MB`,
      );
    }, 15_000);
    await sleep(seconds * 1000);
    clearInterval(progress);
    load.stop();
    const windowS = (performance.now() - win0) / 1000;
    const cpu1 = cpuSeconds(baton.pid);
    const dashCpu1 = cpuSeconds(dashboards.pid);
    const ownCpu = process.cpuUsage(ownCpu0);
    const seen = await dashboards.report();
    await Promise.all([polling, ...clients]);
    if (load.errors > 0) log(`${load.errors} publishes failed; the first: ${load.firstError}`);

    // The drain: nothing waiting, in flight or delayed, every accepted message ended.
    const drain0 = performance.now();
    let drained = false;
    while (performance.now() - drain0 < DRAIN_LIMIT_MS) {
      const { waiting, inFlight } = await load.poll();
      if (waiting === 0 && inFlight === 0) {
        const p = await dashboards.probe();
        if (p.waiting === 0 && p.inFlight === 0 && p.scheduled === 0 && p.accepted === p.ended) {
          drained = true;
          break;
        }
      }
      await sleep(POLL_MS);
    }
    const drainS = (performance.now() - drain0) / 1000;
    if (!drained) throw new Error(`S3: not drained after ${DRAIN_LIMIT_MS / 1000} s`);
    const peak = rss.peakSince(loadStart);
    await sleep(AFTER_DRAIN_MS);
    const after = rss.recent(1_000);

    const single = [...load.singleMs].sort((a, b) => a - b);
    const batch = [...load.batchMs].sort((a, b) => a - b);
    const lags = [...seen.lagsMs].sort((a, b) => a - b);
    push('seconds', windowS);
    push('publishes/s', load.accepted / windowS);
    push('requests/s', load.requests / windowS);
    push('publish p50 ms', percentile(single, 50));
    push('publish p99 ms', percentile(single, 99));
    push('batch p50 ms', percentile(batch, 50));
    push('batch p99 ms', percentile(batch, 99));
    push('publish errors', load.errors);
    push('delayed %', (load.delayed / Math.max(1, load.accepted)) * 100);
    push('4–64 KB bodies %', (load.bigBodies / Math.max(1, load.accepted)) * 100);
    push('deliveries/s', seen.delivered / seen.seconds);
    push('dead letters', seen.deadLettered);
    push('waiting (mean)', mean(load.samples.map((s) => s.waiting)));
    push('waiting (min)', Math.min(...load.samples.map((s) => s.waiting)));
    push('waiting (max)', Math.max(...load.samples.map((s) => s.waiting)));
    push('in flight (mean)', mean(load.samples.map((s) => s.inFlight)));
    push('dashboard events/s', seen.events / seen.seconds);
    push('events/s per dashboard', seen.events / seen.seconds / DASHBOARDS);
    push('fewest/most per dashboard %', (seen.minPerSocket / Math.max(1, seen.maxPerSocket)) * 100);
    push('event→dashboard p50 ms', percentile(lags, 50));
    push('event→dashboard p99 ms', percentile(lags, 99));
    push('dashboard snapshots', seen.snapshots);
    push('dashboard disconnects', seen.disconnects);
    push('server CPU %', ((cpu1 - cpu0) / windowS) * 100);
    push('dashboards CPU %', ((dashCpu1 - dashCpu0) / windowS) * 100);
    push('load generator CPU %', ((ownCpu.user + ownCpu.system) / 1e6 / windowS) * 100);
    push('RSS idle MB', idle);
    push('RSS peak MB', peak);
    push('drain s', drainS);
    push('RSS after drain MB', after);
    push('server errors logged', baton.errors.count);
    for (const e of baton.errors.first) log(`server error: ${e}`);
  } finally {
    rss.stop();
    await dashboards?.close();
    await baton.stop();
    await agent.close();
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
