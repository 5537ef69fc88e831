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
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import type { DashboardsIn, DashboardsOut, DashboardsReport, ProbeReport } from './soak-dashboards';
import { seeded } from '../seeded';

const KEYS = 100;
const DASHBOARDS = 50;
/** Concurrent HTTP clients of the load generator. */
const CLIENTS = 16;
/** Each key is topped up to this many waiting at every poll (100 keys: about 1,000 in all). */
const TOP_UP_TO = 11;
const POLL_MS = 250;
const RSS_EVERY_MS = 250;
const BATCH_SHARE = 0.05;
const BATCH_MAX = 25;
const DELAY_SHARE = 0.05;
const BIG_BODY_SHARE = 0.05;
const BIG_BODY_MIN = 4 * 1024;
const BIG_BODY_MAX = 64 * 1024;
/** Big bodies in one batch stay under this, well inside Baton's 1 MiB request limit. */
const BATCH_BODY_BUDGET = 512 * 1024;
/** After the drain, how long Baton idles before its memory is read. */
const AFTER_DRAIN_MS = 5_000;
const DRAIN_LIMIT_MS = 60_000;

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The four kinds of key, 25 of each (key i is kind i % 4). Capacity, roughly: A 5/s, B 5/s (less
 * retries), C 5/s (its rate), D 3/s (its rate, in bursts) per key: about 450 deliveries/s in all.
 */
const KINDS = [
  {
    flow: 'parallelism=1',
    destination: 'sim://soak-a?duration=200ms&jitter=80ms',
    headers: {},
  },
  {
    flow: 'parallelism=2',
    destination: 'sim://soak-b?duration=400ms&jitter=150ms&fail=0.05',
    headers: { 'upstash-retries': '1', 'upstash-retry-delay': '1000' },
  },
  {
    flow: 'parallelism=5, rate=5, period=1s',
    destination: 'sim://soak-c?duration=50ms&jitter=20ms',
    headers: {},
  },
  {
    flow: 'parallelism=1, rate=30, period=10s',
    destination: 'sim://soak-d?duration=50ms&jitter=20ms',
    headers: {},
  },
] as const;

interface Measurement {
  workload: string;
  impl: string;
  metric: string;
  value: number;
}

interface FlowInfo {
  flowControlKey: string;
  waitListSize: number;
  parallelismCount: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Resident set size of a process in MB, from /proc (NaN where there is none). */
function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? NaN : Number(m[1]) / 1024;
  } catch {
    return NaN;
  }
}

/** CPU seconds a process has used (user + system), from /proc/<pid>/stat (100 ticks a second). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

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

/** The load generator: credits, the polls that grant them, and the clients that spend them. */
class Load {
  readonly names = Array.from({ length: KEYS }, (_, i) => `soak-${String(i).padStart(3, '0')}`);
  private readonly index = new Map(this.names.map((n, i) => [n, i]));
  private readonly credit = new Int32Array(KEYS);
  /** Publishes sent and not yet answered, per key. */
  private readonly unanswered = new Int32Array(KEYS);
  /** Due times of delayed messages, per key (performance.now() ms). */
  private readonly delayedDue: number[][] = Array.from({ length: KEYS }, () => []);
  private cursor = 0;
  private granted: () => void = () => {};
  private grant = new Promise<void>((r) => (this.granted = r));
  private stopped = false;
  private readonly random = seeded(7);
  private readonly bigBody = randomBytes(BIG_BODY_MAX).toString('base64').slice(0, BIG_BODY_MAX);
  private sequence = 0;

  // What is measured; `mark()` clears it at the start of the window.
  recording = false;
  accepted = 0;
  requests = 0;
  bigBodies = 0;
  delayed = 0;
  readonly singleMs: number[] = [];
  readonly batchMs: number[] = [];
  readonly samples: Array<{ waiting: number; inFlight: number }> = [];
  errors = 0;
  firstError = '';

  constructor(
    private readonly base: string,
    private readonly agent: Agent,
  ) {}

  mark(): void {
    this.recording = true;
    this.accepted = 0;
    this.requests = 0;
    this.bigBodies = 0;
    this.delayed = 0;
    this.singleMs.length = 0;
    this.batchMs.length = 0;
    this.samples.length = 0;
  }

  /** Reads every key once: records the totals and grants each key the credits it lacks. */
  async poll(): Promise<{ waiting: number; inFlight: number }> {
    const res = await request(`${this.base}/v2/flowControl?search=soak-`, {
      dispatcher: this.agent,
    });
    if (res.statusCode !== 200) throw new Error(`GET /v2/flowControl: ${res.statusCode}`);
    const infos = (await res.body.json()) as FlowInfo[];
    const waitingOf = new Int32Array(KEYS);
    let waiting = 0;
    let inFlight = 0;
    for (const k of infos) {
      const i = this.index.get(k.flowControlKey);
      if (i === undefined) continue;
      waitingOf[i] = k.waitListSize;
      waiting += k.waitListSize;
      inFlight += k.parallelismCount;
    }
    if (this.recording) this.samples.push({ waiting, inFlight });
    if (!this.stopped) {
      const now = performance.now();
      for (let i = 0; i < KEYS; i++) {
        const due = this.delayedDue[i]!;
        while (due.length > 0 && due[0]! <= now) due.shift();
        const lack = TOP_UP_TO - waitingOf[i]! - due.length - this.unanswered[i]!;
        this.credit[i] = Math.max(0, lack);
      }
      const g = this.granted;
      this.grant = new Promise<void>((r) => (this.granted = r));
      g();
    }
    return { waiting, inFlight };
  }

  /**
   * Fills every key at once, through `/v2/batch` of up to 1,000: `TOP_UP_TO` to wait and a few to
   * start, so the keys are at their level from the first second instead of after a ramp.
   */
  async fill(): Promise<void> {
    const items = this.names.flatMap((_, i) =>
      Array.from({ length: TOP_UP_TO + 5 }, () => this.message(i, false)),
    );
    for (let from = 0; from < items.length; from += 1000) {
      const res = await request(`${this.base}/v2/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(items.slice(from, from + 1000)),
        dispatcher: this.agent,
      });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`fill: ${res.statusCode}: ${text}`);
    }
  }

  /** Polls every POLL_MS until `stop()`. */
  async pollLoop(): Promise<void> {
    while (!this.stopped) {
      const t0 = performance.now();
      await this.poll();
      await sleep(Math.max(0, POLL_MS - (performance.now() - t0)));
    }
  }

  /** The next key with a credit (round robin), its credit spent; -1 when none has one. */
  private take(): number {
    for (let n = 0; n < KEYS; n++) {
      const i = (this.cursor + n) % KEYS;
      if (this.credit[i]! > 0) {
        this.credit[i]!--;
        this.cursor = (i + 1) % KEYS;
        return i;
      }
    }
    return -1;
  }

  /** One message for key `i`: its headers and body, and whether it is delayed or big. */
  private message(i: number, allowBig: boolean) {
    const kind = KINDS[i % KINDS.length]!;
    const headers: Record<string, string> = {
      'upstash-flow-control-key': this.names[i]!,
      'upstash-flow-control-value': kind.flow,
      ...kind.headers,
    };
    if (this.random() < DELAY_SHARE) {
      const s = 1 + Math.floor(this.random() * 3);
      headers['upstash-delay'] = `${s}s`;
      this.delayedDue[i]!.push(performance.now() + s * 1000);
      if (this.recording) this.delayed++;
    }
    let body = `{"n":${this.sequence++}}`;
    if (allowBig && this.random() < BIG_BODY_SHARE) {
      const size = BIG_BODY_MIN + Math.floor(this.random() * (BIG_BODY_MAX - BIG_BODY_MIN));
      body = this.bigBody.slice(0, size);
      if (this.recording) this.bigBodies++;
    }
    return { destination: kind.destination, headers, body };
  }

  private failed(what: string): void {
    this.errors++;
    if (this.firstError === '') this.firstError = what;
  }

  private async publishOne(i: number): Promise<void> {
    const m = this.message(i, true);
    this.unanswered[i]!++;
    const t0 = performance.now();
    try {
      const res = await request(`${this.base}/v2/publish/${m.destination}`, {
        method: 'POST',
        headers: m.headers,
        body: m.body,
        dispatcher: this.agent,
      });
      const text = await res.body.text();
      const ms = performance.now() - t0;
      if (res.statusCode >= 300) return this.failed(`publish ${res.statusCode}: ${text}`);
      if (this.recording) {
        this.singleMs.push(ms);
        this.accepted++;
        this.requests++;
      }
    } finally {
      this.unanswered[i]!--;
    }
  }

  private async publishBatch(first: number): Promise<void> {
    const keys = [first];
    while (keys.length < BATCH_MAX) {
      const i = this.take();
      if (i < 0) break;
      keys.push(i);
    }
    let bodyBytes = 0;
    const items = keys.map((i) => {
      const m = this.message(i, bodyBytes < BATCH_BODY_BUDGET - BIG_BODY_MAX);
      bodyBytes += m.body.length;
      return m;
    });
    for (const i of keys) this.unanswered[i]!++;
    const t0 = performance.now();
    try {
      const res = await request(`${this.base}/v2/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(items),
        dispatcher: this.agent,
      });
      const text = await res.body.text();
      const ms = performance.now() - t0;
      if (res.statusCode >= 300) return this.failed(`batch ${res.statusCode}: ${text}`);
      if (this.recording) {
        this.batchMs.push(ms);
        this.accepted += items.length;
        this.requests++;
      }
    } finally {
      for (const i of keys) this.unanswered[i]!--;
    }
  }

  /** One client: publish against credits until `stop()`, waiting for the next poll when none. */
  async client(): Promise<void> {
    while (!this.stopped) {
      const i = this.take();
      if (i < 0) {
        await this.grant;
        continue;
      }
      try {
        if (this.random() < BATCH_SHARE) await this.publishBatch(i);
        else await this.publishOne(i);
      } catch (err) {
        this.failed(String(err));
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.recording = false;
    this.granted();
  }
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
