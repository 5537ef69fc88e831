/**
 * `npm run bench [-- --quick]`: Baton against p-limit and Bottleneck on four workloads, each
 * workload × implementation in a child process of its own (see `child.ts`), then one table, the
 * targets with their ratios, and the numbers in `bench/results.json`; then the server (S1), the
 * soak (S3), the Redis (W5), the servers on Redis against BullMQ (S2) and the browser (B1) sections.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { browserSection } from './browser/section';
import { redisSection } from './redis/section';
import { s2Section } from './server/s2';
import { serverSection } from './server/section';
import { soakSection } from './server/soak-section';
import { formatNumber, formatRatio, formatTable } from './table';
import {
  COUNT_METRICS,
  IMPLS,
  median,
  RESULT_PREFIX,
  type Impl,
  type Measurement,
  type Sizes,
  type Workload,
} from './workloads/common';
import { WORKLOADS } from './workloads/index';

const quick = process.argv.includes('--quick');
const root = fileURLToPath(new URL('..', import.meta.url));
/** Runs per Baton and p-limit measurement, in fresh processes; the report shows the median. */
const REPEAT = quick ? 1 : 3;

/** The targets: Baton ÷ p-limit on one metric, measured in the same run. */
const TARGETS = [
  { workload: 'W1', metric: 'tasks/s', goal: '≥ 1.50×', pass: (r: number) => r >= 1.5 },
  { workload: 'W2', metric: 'tasks/s', goal: '≥ 1.50×', pass: (r: number) => r >= 1.5 },
  { workload: 'W3', metric: 'bytes/waiting', goal: '≤ 1.00×', pass: (r: number) => r <= 1 },
  { workload: 'W4', metric: 'p99 µs', goal: '≤ 1.00×', pass: (r: number) => r <= 1 },
];
/** Metrics whose values grow with the run's size, so Bottleneck's smaller runs do not compare. */
const SIZE_BOUND_METRICS = ['peak MB'];

const sizesFor = (w: Workload, impl: Impl): Sizes =>
  w.sizes[quick ? 'quick' : 'full'][impl === 'bottleneck' ? 'bottleneck' : 'main'];

/** One child: `node --expose-gc --import tsx bench/child.ts …`; resolves its measurements. */
function runChild(workload: string, impl: Impl, sizes: Sizes): Promise<Measurement[]> {
  const args = ['--expose-gc', '--import', 'tsx', 'bench/child.ts', workload, impl];
  args.push(JSON.stringify(sizes));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code !== 0 || line === undefined) {
        reject(new Error(`${workload} ${impl} exited with ${code}:\n${out}`));
      } else resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as Measurement[]);
    });
  });
}

/** Runs every child. Repeats are interleaved, so drift on the machine falls on every side alike. */
async function measureAll(): Promise<Measurement[]> {
  const runs = new Map<string, { m: Measurement; values: number[] }>();
  for (const w of WORKLOADS) {
    for (let r = 0; r < REPEAT; r++) {
      for (const impl of IMPLS) {
        if (impl === 'bottleneck' && r > 0) continue; // slow, and far from every target
        process.stderr.write(`${w.id} ${impl} run ${r + 1}… `);
        const t0 = performance.now();
        const measurements = await runChild(w.id, impl, sizesFor(w, impl));
        process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
        for (const m of measurements) {
          const id = `${m.workload}|${m.impl}|${m.metric}`;
          const entry = runs.get(id) ?? { m, values: [] };
          entry.values.push(m.value);
          runs.set(id, entry);
        }
      }
    }
  }
  return [...runs.values()].map(({ m, values }) => ({ ...m, value: median(values) }));
}

function valueOf(all: readonly Measurement[], workload: string, impl: Impl, metric: string) {
  const m = all.find((x) => x.workload === workload && x.impl === impl && x.metric === metric);
  return m?.value ?? NaN;
}

/** The whole report: header, legend, the table, the targets. */
function report(all: readonly Measurement[]): string {
  const rows = [['workload', 'impl', 'count', 'metric', 'value', 'vs p-limit']];
  for (const w of WORKLOADS) {
    for (const impl of IMPLS) {
      const mine = all.filter((m) => m.workload === w.id && m.impl === impl);
      const count = mine.find((m) => COUNT_METRICS.includes(m.metric));
      for (const m of mine) {
        if (m === count) continue;
        const comparable = impl !== 'bottleneck' || !SIZE_BOUND_METRICS.includes(m.metric);
        const base = valueOf(all, w.id, 'p-limit', m.metric);
        rows.push([
          w.id,
          impl,
          `${formatNumber(count?.value ?? NaN)}${impl === 'bottleneck' ? '*' : ''}`,
          m.metric,
          formatNumber(m.value),
          impl === 'p-limit' ? '' : comparable ? formatRatio(m.value / base) : 'n/a',
        ]);
      }
    }
  }
  const targetRows = TARGETS.map((t) => {
    const ratio =
      valueOf(all, t.workload, 'baton', t.metric) / valueOf(all, t.workload, 'p-limit', t.metric);
    return [
      `${t.workload} ${t.metric}`,
      `${t.goal} p-limit`,
      formatRatio(ratio),
      t.pass(ratio) ? 'PASS' : 'MISS',
    ];
  });
  const mode = quick ? 'QUICK run: smaller counts, one run each — indicative only' : 'full run';
  const [load1] = loadavg();
  return [
    `Baton bench — ${mode}; node ${process.version}, ${availableParallelism()} CPUs, load ${load1?.toFixed(1)} at the end`,
    'Baton = FlowController + FlowEngine as the server drives them: Date.now clock, real timers,',
    'an instant async deliverer, one event listener. Every run is a fresh process: a warm-up,',
    'then the measured iterations (×N below), each after a forced GC (W4: none, see its source);',
    'a run reports their median.',
    REPEAT > 1
      ? `Each value is the median of ${REPEAT} such runs (Bottleneck: 1 run).`
      : 'One run each.',
    '',
    ...WORKLOADS.map((w) => {
      const main = sizesFor(w, 'baton');
      const bn = sizesFor(w, 'bottleneck');
      const times = (s: Sizes) => ((s.iterations ?? 1) > 1 ? ` ×${s.iterations}` : '');
      return `${w.id}  ${w.describe(main)}${times(main)}\n    Bottleneck*: ${w.describe(bn)}${times(bn)}`;
    }),
    '',
    formatTable(rows, ['left', 'left', 'right', 'left', 'right', 'right']),
    '',
    '* Bottleneck is thousands of times slower here, so it runs the smaller sizes above: its rates,',
    '  bytes and latencies compare with the others; its W2 peak memory (n/a) does not.',
    '  W2 peak MB = the peak RSS of the process minus its RSS when the workload began.',
    '',
    'targets (Baton ÷ p-limit, this run)',
    formatTable(
      [['target', 'goal', 'ratio', ''], ...targetRows],
      ['left', 'left', 'right', 'left'],
    ),
  ].join('\n');
}

const all = await measureAll();
console.log(report(all));
const server = await serverSection(quick);
console.log(`\n${server.report}`);
const soak = await soakSection(quick);
console.log(`\n${soak.report}`);
const redis = await redisSection(quick);
console.log(`\n${redis.report}`);
const s2 = await s2Section(quick);
console.log(`\n${s2.report}`);
const browser = await browserSection(quick);
console.log(`\n${browser.report}`);
// A quick run never overwrites the full run's numbers (results.local.json is git-ignored).
const file = quick ? 'bench/results.local.json' : 'bench/results.json';
const measurements = [
  ...all,
  ...server.measurements,
  ...soak.measurements,
  ...redis.measurements,
  ...s2.measurements,
  ...browser.measurements,
];
writeFileSync(`${root}${file}`, `${JSON.stringify(measurements, null, 2)}\n`);
console.log(`\nwrote ${file}`);
