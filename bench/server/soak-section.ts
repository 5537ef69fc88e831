/**
 * The soak section of `npm run bench` (S3, issue: hardening): runs `soak.ts` in a child process
 * (Baton and the dashboards run in two more) and reports its numbers as a table of their own.
 * There is no peer: the soak is Baton's own, and the issue sets no target for it.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { formatNumber, formatTable } from '../table';
import type { SectionMeasurement } from './section';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Metrics that are counts, shown without decimals. */
const COUNTS = [
  'publish errors',
  'dead letters',
  'dashboard snapshots',
  'dashboard disconnects',
  'server errors logged',
];
/** Metrics kept in results.json but left out of the table. */
const HIDDEN = ['seconds'];

function runSoak(seconds: number, warmupSeconds: number): Promise<SectionMeasurement[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/server/soak.ts', String(seconds), String(warmupSeconds)],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || line === undefined) reject(new Error(`soak exited with ${code}:\n${out}`));
      else resolve(JSON.parse(line.slice('RESULT '.length)) as SectionMeasurement[]);
    });
  });
}

/** Runs the soak: 2 minutes (quick: 15 s) after a warm-up; returns its numbers and its report. */
export async function soakSection(
  quick: boolean,
): Promise<{ measurements: SectionMeasurement[]; report: string }> {
  const seconds = quick ? 15 : 120;
  const warmupSeconds = quick ? 5 : 10;
  process.stderr.write(`S3 soak (${seconds} s after ${warmupSeconds} s of warm-up)…\n`);
  const t0 = performance.now();
  const loadBefore = loadavg()[0] ?? NaN;
  const measurements = await runSoak(seconds, warmupSeconds);
  const loadAfter = loadavg()[0] ?? NaN;
  process.stderr.write(`S3 done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const show = (m: SectionMeasurement) =>
    COUNTS.includes(m.metric) ? m.value.toLocaleString('en-US') : formatNumber(m.value);
  const rows = [
    ['metric', 'value'],
    ...measurements.filter((m) => !HIDDEN.includes(m.metric)).map((m) => [m.metric, show(m)]),
  ];
  const report = [
    `S3  soak: a Baton process for ${seconds} s (after ${warmupSeconds} s of warm-up) under a mixed stream of`,
    '    publishes from 16 keep-alive HTTP clients, each in a closed loop: single publishes and 5%',
    '    /v2/batch of up to 25, to 100 keys (parallelism 1–5, half of them with a rate) and sim://',
    '    destinations of 50–400 ms, a quarter failing 5% of attempts with one retry; 5% of messages',
    '    delayed 1–3 s, 5% with 4–64 KB bodies. Each key is topped up to 11 waiting every 250 ms',
    '    (GET /v2/flowControl), so about 1,000 wait throughout; 50 Socket.IO dashboards connected.',
    '    Then the drain: publishing stops until nothing waits, runs or is delayed; RSS 5 s later.',
    '    publish = client-side request time; event→dashboard = arrival of a batch minus the server',
    '    time of its oldest event; RSS = VmRSS of the Baton process every 250 ms. No peer.',
    `    Load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after (all three processes share the machine).`,
    '',
    formatTable(rows, ['left', 'right']),
  ].join('\n');
  return { measurements, report };
}
