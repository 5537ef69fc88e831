import { spawn, type ChildProcess } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { keyRegion, openDashboard, picture } from './helpers';

/**
 * The README's workflow example, as a newcomer runs it: a Baton of its own (on a free port, so the
 * dashboard shows nothing but this example), then `npm run example:workflow` against it. The
 * dashboard must show the Parallelism page's picture on the key `user-signup`: ten steps holding
 * the ten tokens, the others in the waitlist; and the example must exit 0, every run finished.
 */
const children: ChildProcess[] = [];

/** Starts a process in its own group (npm and npx start children), collecting its output. */
function start(command: string, args: string[], env: Record<string, string>) {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { output: () => output, exited };
}

test.afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
  }
});

test('the workflow example: 10 user-signup steps active, the rest waiting, every run finished', async ({
  page,
}) => {
  test.setTimeout(120_000);

  // Baton on a port the system picks; its log says which.
  const baton = start('npx', ['tsx', 'server/main.ts', '--port', '0'], { LOG_LEVEL: 'info' });
  await expect
    .poll(() => /"port":(\d+)/.exec(baton.output())?.[1], { timeout: 20_000 })
    .toBeDefined();
  const base = `http://127.0.0.1:${/"port":(\d+)/.exec(baton.output())![1]}`;
  await openDashboard(page, base);

  // The example's one command, with 30 runs instead of 40; each step takes 5 s ± 25%, so the first
  // ten hold their tokens a few seconds before the handoffs begin (about 50 s in all).
  const example = start('npm', ['run', 'example:workflow', '--', '--runs', '30'], {
    BATON_URL: base,
    STEP_MS: '5000',
  });
  await expect
    .poll(example.output, { timeout: 20_000, intervals: [100] })
    .toContain('triggered 30 runs');

  // The Parallelism page's picture: every token held by a step, the others waiting.
  const k = keyRegion(page, 'user-signup');
  await expect(k.active).toHaveCount(10);
  await expect(k.tokens).toHaveCount(0);
  await expect(k.active.first()).toHaveAccessibleName(/^token \d+ of 10, held by /);
  await expect(k.waiting.first()).toHaveAccessibleName(/^waiting 1st, for parallelism\b/);
  // Once the arrivals have walked to their places, the README's picture.
  await page.waitForTimeout(2000);
  await expect(k.active).toHaveCount(10);
  expect(await k.waiting.count()).toBeGreaterThan(0);
  await page.mouse.move(0, 0);
  await picture(page, k.region, 'workflow-example');
  const state = (await (await fetch(`${base}/v2/flowControl/user-signup`)).json()) as {
    parallelismMax: number;
    parallelismCount: number;
    waitListSize: number;
  };
  expect(state.parallelismMax).toBe(10);
  expect(state.parallelismCount).toBe(10);
  expect(state.waitListSize).toBeGreaterThan(0);

  // Every run finishes and the example says so; the ten tokens come back.
  expect(await example.exited, example.output()).toBe(0);
  expect(example.output()).toContain('runs finished 30/30');
  expect(example.output()).toContain('all runs succeeded');
  await expect(k.waiting).toHaveCount(0);
  await expect(k.active).toHaveCount(0);
  await expect(k.tokens).toHaveCount(10);
});
