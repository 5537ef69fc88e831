/**
 * Vitest global setup of the `redis` project (vitest.config.ts): starts a `redis-server` of its own
 * on a free port, in a temporary directory, persisting nothing, and hands its URL to the tests in
 * `BATON_TEST_REDIS_URL`; stops it when the run ends. Vitest calls it only when a test of that
 * project runs, once per run.
 *
 * When Redis cannot be started, the run goes on and every test that needs Redis fails with the
 * reason (see `testRedisUrl`), so the other tests still count and nothing is skipped.
 * A `BATON_TEST_REDIS_URL` already set is used as it is, and nothing is started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRedis, stop, watchdog, type Running } from './redis-server';

export const REDIS_URL_ENV = 'BATON_TEST_REDIS_URL';
/** Why Redis could not be started, for the tests to fail with. */
export const REDIS_ERROR_ENV = 'BATON_TEST_REDIS_ERROR';

export default async function setup(): Promise<() => Promise<void>> {
  if (process.env[REDIS_URL_ENV]) {
    console.log(`test-redis: using ${process.env[REDIS_URL_ENV]}`);
    return async () => {};
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-test-redis-'));
  let running: Running | undefined;
  let lastError: unknown;
  try {
    running = await startRedis(dir);
  } catch (err) {
    lastError = err;
  }
  if (running === undefined) {
    rmSync(dir, { recursive: true, force: true });
    const why = lastError instanceof Error ? lastError.message : String(lastError);
    const reason = why.includes('ENOENT')
      ? 'redis-server is not installed (bash scripts/ensure-redis.sh installs it)'
      : why;
    console.error(`test-redis: could not start redis-server: ${reason}`);
    process.env[REDIS_ERROR_ENV] = reason;
    return async () => {};
  }
  const { child, port } = running;
  const url = `redis://127.0.0.1:${port}`;
  process.env[REDIS_URL_ENV] = url;
  const dog = watchdog(child.pid ?? 0);
  // A normal exit that skipped the teardown (an uncaught error) still takes Redis down.
  const onExit = (): void => void child.kill('SIGKILL');
  process.on('exit', onExit);
  console.log(`test-redis: redis-server ${child.pid} on ${url}`);

  return async () => {
    process.off('exit', onExit);
    await stop(child);
    if (dog.pid !== undefined) {
      try {
        // The watchdog leads its own process group (detached): this takes its `sleep` too.
        process.kill(-dog.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(dir, { recursive: true, force: true });
    delete process.env[REDIS_URL_ENV];
  };
}
