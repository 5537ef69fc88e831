import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { keyRegion, screenshotPath, uniqueKey } from './helpers';

/**
 * A server that goes away and comes back: the page says so, keeps the last picture marked as
 * frozen, reconnects by itself and replaces the picture with the new server's (empty) state.
 * This spec runs its own server on a port of its own (free, chosen once: the page reconnects to
 * the same address), so it can stop and start it.
 */
const PORT = Number(
  execFileSync(
    process.execPath,
    [
      '-e',
      "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})",
    ],
    { encoding: 'utf8' },
  ),
);
const BASE = `http://127.0.0.1:${PORT}`;

let server: ChildProcess | null = null;

async function startServer(): Promise<void> {
  // A stop that does not wait for deliveries in flight: this spec is about the page, not the drain.
  server = spawn(
    process.execPath,
    ['--import', 'tsx', 'server/main.ts', '--port', String(PORT), '--shutdown-timeout', '0s'],
    {
      env: { ...process.env, LOG_LEVEL: 'warn' },
      stdio: 'ignore',
      detached: true,
    },
  );
  await expect
    .poll(
      async () => {
        try {
          return (await fetch(`${BASE}/healthz`)).ok;
        } catch {
          return false;
        }
      },
      { timeout: 20_000 },
    )
    .toBe(true);
}

/** Stops the server (its own process group). */
async function stopServer(): Promise<void> {
  const s = server;
  server = null;
  if (s?.pid === undefined) return;
  const exited = new Promise((resolve) => s.once('exit', resolve));
  process.kill(-s.pid, 'SIGTERM');
  const timer = setTimeout(() => process.kill(-s.pid!, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
  await expect
    .poll(
      () =>
        fetch(`${BASE}/healthz`).then(
          () => 'up',
          () => 'down',
        ),
      { timeout: 10_000 },
    )
    .toBe('down');
}

test.afterEach(async () => {
  await stopServer();
});

test('shows disconnected when the server stops, then reconnects with fresh state', async ({
  page,
}) => {
  test.setTimeout(90_000);
  await startServer();
  await page.goto(BASE);
  const status = page.getByRole('status');
  await expect(status).toHaveText('Connected');

  const key = uniqueKey('e2e-before-restart');
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${BASE}/v2/publish/sim://work?duration=60s`, {
      method: 'POST',
      headers: { 'Upstash-Flow-Control-Key': key, 'Upstash-Flow-Control-Value': 'parallelism=2' },
    });
    expect(res.status).toBe(200);
  }
  const before = keyRegion(page, key);
  await expect(before.active).toHaveCount(2);
  await expect(before.waiting).toHaveCount(1);

  await stopServer();
  await expect(status).toHaveText(/^Disconnected/);
  await expect(page.getByRole('alert').filter({ hasText: 'Connection lost' })).toBeVisible();
  // The last picture stays, marked as frozen.
  await expect(before.active).toHaveCount(2);
  await page.waitForTimeout(2100); // the last arrival's sketch has gone: a still picture
  await page.locator('#root').screenshot({ path: screenshotPath('disconnected') });

  await startServer();
  await expect(status).toHaveText('Connected', { timeout: 20_000 });
  await expect(page.getByRole('alert').filter({ hasText: 'Connection lost' })).toHaveCount(0);
  // A fresh server holds nothing: the old key is gone and the totals start again.
  await expect(before.region).toHaveCount(0);
  await expect(page.getByRole('list', { name: 'Totals' })).toContainText('0 accepted');

  const after = uniqueKey('e2e-after-restart');
  const res = await fetch(`${BASE}/v2/publish/sim://work?duration=5s`, {
    method: 'POST',
    headers: { 'Upstash-Flow-Control-Key': after, 'Upstash-Flow-Control-Value': 'parallelism=1' },
  });
  expect(res.status).toBe(200);
  await expect(keyRegion(page, after).active).toHaveCount(1);
  await expect(page.getByRole('region', { name: 'Keys overview' })).toContainText('1 key');
  await page.waitForTimeout(500);
  await page.locator('#root').screenshot({ path: screenshotPath('reconnected') });
});
