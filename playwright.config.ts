import { execFileSync } from 'node:child_process';
import { defineConfig, devices } from '@playwright/test';
import { CHROMIUM_LAUNCH_OPTIONS } from './scripts/chromium';

/**
 * Browser tests against the real server with the built dashboard (`npm test` builds it first).
 * They use Debian's chromium (scripts/ensure-chromium.sh) instead of a Playwright download, so CI
 * needs only the npm registry and apt.
 */
/**
 * A free port, chosen once: the config is loaded again in each worker, which inherits the
 * environment, so every process agrees on it. Never a fixed port: another server may hold it.
 */
function freePort(): number {
  const probe =
    "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})";
  return Number(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }));
}
process.env.BATON_E2E_PORT ??= String(freePort());
const PORT = Number(process.env.BATON_E2E_PORT);

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: 'list',
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    headless: true,
    viewport: { width: 1280, height: 800 },
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        viewport: { width: 1280, height: 800 },
        launchOptions: CHROMIUM_LAUNCH_OPTIONS,
      },
    },
  ],
  webServer: {
    command: `npx tsx server/main.ts --port ${PORT}`,
    env: { PORT: String(PORT), LOG_LEVEL: 'warn' },
    url: `http://127.0.0.1:${PORT}/healthz`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
