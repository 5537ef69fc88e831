/**
 * `npm test`: every gate, in order, each streaming its own output, then one summary.
 *
 * Gates that are not test runners count as one check each (passed or failed); the test runners
 * count their tests, read from their JSON reports. Every gate runs even after a failure, so the
 * summary is complete; only e2e is skipped (and counted failed) when the build it needs failed.
 * Chromium (e2e) and redis-server (the Redis store's unit tests) are installed first when missing.
 * The last line is always `N passed, N failed` (plus `, N skipped` when any were skipped).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, '.test-output');
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);

interface Result {
  gate: string;
  passed: number;
  failed: number;
  skipped: number;
  seconds: number;
  note: string;
}

/** Runs a command with its output streamed to ours; resolves with its exit code. */
function run(command: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  console.log(`\n━━ ${[path.basename(command), ...args].join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, ...env },
    });
    child.on('error', (err) => {
      console.error(`could not start ${command}: ${err.message}`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal !== null ? 128 : 1)));
  });
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Counts from a test runner's report; a runner that failed without failing a test still fails. */
function fromReport(
  gate: string,
  code: number,
  seconds: number,
  counts: { passed: number; failed: number; skipped: string[] } | undefined,
): Result {
  if (counts === undefined) {
    return { gate, passed: 0, failed: 1, skipped: 0, seconds, note: `no report (exit ${code})` };
  }
  const notes: string[] = [];
  let failed = counts.failed;
  if (code !== 0 && failed === 0) {
    failed = 1;
    notes.push(`runner exited ${code} with no failed test`);
  }
  for (const name of counts.skipped) console.log(`  skipped: ${name}`);
  if (counts.skipped.length > 0) notes.push(`${counts.skipped.length} skipped (listed above)`);
  return {
    gate,
    passed: counts.passed,
    failed,
    skipped: counts.skipped.length,
    seconds,
    note: notes.join('; '),
  };
}

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  testResults: Array<{
    name: string;
    assertionResults: Array<{ fullName: string; status: string }>;
  }>;
}

function vitestCounts(report: unknown) {
  const r = report as VitestReport | undefined;
  if (r === undefined || typeof r.numPassedTests !== 'number') return undefined;
  const skipped: string[] = [];
  for (const file of r.testResults) {
    for (const t of file.assertionResults) {
      if (t.status === 'pending' || t.status === 'skipped' || t.status === 'todo') {
        skipped.push(`${path.relative(root, file.name)} › ${t.fullName}`);
      }
    }
  }
  return { passed: r.numPassedTests, failed: r.numFailedTests, skipped };
}

interface PlaywrightSuite {
  title: string;
  file?: string;
  specs?: Array<{ title: string; file: string; tests: Array<{ status: string }> }>;
  suites?: PlaywrightSuite[];
}

function playwrightCounts(report: unknown) {
  const r = report as { stats?: Record<string, number>; suites?: PlaywrightSuite[] } | undefined;
  if (r?.stats === undefined) return undefined;
  const skipped: string[] = [];
  const walk = (s: PlaywrightSuite) => {
    for (const spec of s.specs ?? []) {
      if (spec.tests.some((t) => t.status === 'skipped'))
        skipped.push(`${spec.file} › ${spec.title}`);
    }
    for (const child of s.suites ?? []) walk(child);
  };
  for (const s of r.suites ?? []) walk(s);
  const { expected = 0, flaky = 0, unexpected = 0 } = r.stats;
  // A flaky test passed on a retry; it passes here, but the count says so.
  if (flaky > 0) console.log(`  ${flaky} flaky test(s) passed on a retry`);
  return { passed: expected + flaky, failed: unexpected, skipped };
}

async function gate(name: string, command: string, args: string[]): Promise<Result> {
  const start = performance.now();
  const code = await run(command, args);
  const seconds = (performance.now() - start) / 1000;
  return {
    gate: name,
    passed: code === 0 ? 1 : 0,
    failed: code === 0 ? 0 : 1,
    skipped: 0,
    seconds,
    note: code === 0 ? '' : `exit ${code}`,
  };
}

/** The summary as a plain, aligned text table. */
function table(results: Result[]): string {
  const rows = [
    ['gate', 'result', 'passed', 'failed', 'skipped', 'time', 'note'],
    ...results.map((r) => [
      r.gate,
      r.failed > 0 ? 'FAIL' : 'ok',
      String(r.passed),
      String(r.failed),
      String(r.skipped),
      `${r.seconds.toFixed(1)}s`,
      r.note,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function main(): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const results: Result[] = [];

  const chromiumReady = (await run('bash', [path.join('scripts', 'ensure-chromium.sh')])) === 0;
  // The unit gate's Redis tests start their own redis-server (scripts/test-redis.ts); without one
  // they fail, saying why, and the other unit tests still count.
  const redisReady = (await run('bash', [path.join('scripts', 'ensure-redis.sh')])) === 0;

  results.push(await gate('typecheck', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']));
  results.push(await gate('lint', bin('eslint'), ['.']));
  results.push(await gate('format', bin('prettier'), ['--check', '.']));

  {
    const file = path.join(outDir, 'vitest.json');
    const start = performance.now();
    const code = await run(bin('vitest'), [
      'run',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${file}`,
    ]);
    const seconds = (performance.now() - start) / 1000;
    const unit = fromReport('unit', code, seconds, vitestCounts(readJson(file)));
    if (!redisReady) unit.note = [unit.note, 'redis-server is missing'].filter(Boolean).join('; ');
    results.push(unit);
  }

  const build = await gate('build', bin('vite'), ['build']);
  results.push(build);

  if (build.failed > 0 || !chromiumReady) {
    const why = build.failed > 0 ? 'build failed' : 'chromium is missing';
    console.log(`\n━━ e2e skipped: ${why}`);
    results.push({
      gate: 'e2e',
      passed: 0,
      failed: 1,
      skipped: 0,
      seconds: 0,
      note: `not run: ${why}`,
    });
  } else {
    const file = path.join(outDir, 'playwright.json');
    const start = performance.now();
    const code = await run(bin('playwright'), ['test', '--reporter=list,json'], {
      PLAYWRIGHT_JSON_OUTPUT_FILE: file,
    });
    const seconds = (performance.now() - start) / 1000;
    results.push(
      fromReport(
        'e2e',
        code,
        seconds,
        existsSync(file) ? playwrightCounts(readJson(file)) : undefined,
      ),
    );
  }

  const total = results.reduce(
    (t, r) => ({
      passed: t.passed + r.passed,
      failed: t.failed + r.failed,
      skipped: t.skipped + r.skipped,
    }),
    { passed: 0, failed: 0, skipped: 0 },
  );
  console.log('\n━━ summary');
  console.log(table(results));
  console.log(
    `${total.passed} passed, ${total.failed} failed${total.skipped > 0 ? `, ${total.skipped} skipped` : ''}`,
  );
  process.exitCode = total.failed > 0 ? 1 : 0;
}

void main();
