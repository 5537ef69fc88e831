/**
 * S2's processes (s2.ts): every child it starts (Baton servers, BullMQ's worker, Redis) is tracked
 * with a watchdog and stopped at the end, also on failure (their CPU time: processes.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { watchdog } from '../../scripts/redis-server';

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

const root = fileURLToPath(new URL('../..', import.meta.url));

// ── processes ────────────────────────────────────────────────────────────────────────────────

/** Every process started here, with the watchdog that kills it should this process die first. */
export const started = new Map<ChildProcess, ChildProcess>();

export function track(child: ChildProcess): void {
  if (child.pid !== undefined) started.set(child, watchdog(child.pid));
}

/** SIGTERM, then SIGKILL after `STOP_TIMEOUT_MS`; resolves once the process is gone. */
export function stopProcess(child: ChildProcess): Promise<void> {
  const dog = started.get(child);
  started.delete(child);
  const done =
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        });
  return done.then(() => {
    if (dog?.pid !== undefined) {
      try {
        process.kill(-dog.pid, 'SIGKILL'); // the watchdog leads its own process group
      } catch {
        // already gone
      }
    }
  });
}

/** Kills what is left at once: for an exit that skipped the teardown. */
export function killAll(): void {
  for (const child of started.keys()) child.kill('SIGKILL');
}

/** The child's environment without the settings that would change what is measured. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k === 'REDIS_URL' || k === 'PORT' || k === 'HOST' || k.startsWith('BATON_')) delete env[k];
  }
  return env;
}

/**
 * Starts a Node child and resolves once a line of its stdout passes `ready` (which returns what
 * to resolve with); rejects if it exits or stays silent for `START_TIMEOUT_MS`.
 */
export function startChild<T>(
  what: string,
  args: string[],
  ready: (line: string) => T | undefined,
): Promise<{ child: ChildProcess; value: T }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  track(child);
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      void stopProcess(child);
      reject(new Error(`${what} ${why}`));
    };
    const timer = setTimeout(
      () => fail(`did not start within ${START_TIMEOUT_MS / 1000} s`),
      START_TIMEOUT_MS,
    );
    child.on('error', (err) => fail(err.message));
    child.on('exit', (code, signal) => fail(`exited (${signal ?? code}) before it was ready`));
    // Read every line, also after the start, so the pipe never fills.
    let resolved = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (resolved) return;
      const value = ready(line);
      if (value === undefined) return;
      resolved = true;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ child, value });
    });
  });
}
