/**
 * The server section of `npm run bench`: runs `throughput.ts` in a child process (Baton itself
 * runs in another) and reports deliveries per second and added latency against calling the same
 * destination directly, with the targets.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatNumber, formatTable } from '../table';

/** One measured number, as in `bench/results.json`. */
export interface SectionMeasurement {
  workload: string;
  impl: string;
  metric: string;
  value: number;
}

const root = fileURLToPath(new URL('../..', import.meta.url));

function runThroughput(messages: number, samples: number): Promise<SectionMeasurement[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/server/throughput.ts', String(messages), String(samples)],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || line === undefined)
        reject(new Error(`server bench exited with ${code}:\n${out}`));
      else resolve(JSON.parse(line.slice('RESULT '.length)) as SectionMeasurement[]);
    });
  });
}

/** Runs the section; returns its measurements and its part of the report. */
export async function serverSection(
  quick: boolean,
): Promise<{ measurements: SectionMeasurement[]; report: string }> {
  const messages = quick ? 5_000 : 50_000;
  const samples = quick ? 200 : 2_000;
  process.stderr.write(`S1 server (${messages} messages, ${samples} latency samples)… `);
  const t0 = performance.now();
  const measurements = await runThroughput(messages, samples);
  process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const get = (impl: string, metric: string) =>
    measurements.find((m) => m.impl === impl && m.metric === metric)?.value ?? NaN;
  const rows = [['impl', 'metric', 'value']];
  for (const m of measurements) {
    if (m.metric !== 'messages') rows.push([m.impl, m.metric, formatNumber(m.value)]);
  }
  const throughput = get('baton', 'deliveries/s');
  const added = get('baton', 'added p50 ms');
  const report = [
    `S1  server: ${formatNumber(messages)} messages through a Baton process (parallelism 100, published in`,
    '    batches of 100) to a local destination that answers at once, against the same destination',
    `    called directly 100 at a time; latency over ${formatNumber(samples)} single messages, publish → arrival.`,
    '',
    formatTable(rows, ['left', 'left', 'right']),
    '',
    'targets (server)',
    formatTable(
      [
        ['target', 'goal', 'measured', ''],
        [
          'S1 deliveries/s',
          '≥ 5,000',
          formatNumber(throughput),
          throughput >= 5000 ? 'PASS' : 'MISS',
        ],
        ['S1 added p50', '< 2 ms', `${formatNumber(added)} ms`, added < 2 ? 'PASS' : 'MISS'],
      ],
      ['left', 'left', 'right', 'left'],
    ),
  ].join('\n');
  return { measurements, report };
}
