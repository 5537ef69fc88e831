/**
 * The processes the browser bench runs: the dashboard's build, and a Baton server on a free
 * loopback port, started the way a user starts it (`node --import tsx server/main.ts`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs a node script in the repository; resolves when it exits 0, rejects with its output else. */
function runNode(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited with ${code}:\n${out}`)),
    );
  });
}

/**
 * Builds the dashboard into dist/client, always: it takes about a second, and a stale build would
 * measure code that is no longer there. `minify: false` keeps names for a profile.
 */
export function buildClient({ minify = true }: { minify?: boolean } = {}): Promise<void> {
  const args = ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'];
  return runNode(minify ? args : [...args, '--minify', 'false']);
}

/** A loopback port nothing listens on right now (asked of the OS, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface BatonProcess {
  base: string;
  pid: number;
  /** CPU seconds the process has used so far (user + system), or NaN where /proc is missing. */
  cpuSeconds(): number;
  /** Stops it: SIGTERM, then SIGKILL if it is still there a second later. */
  stop(): Promise<void>;
}

/** Clock ticks per second of /proc/<pid>/stat; 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** Starts Baton on a free loopback port and resolves once `/healthz` answers. */
export async function startBaton(): Promise<BatonProcess> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'server/main.ts', '--port', String(port), '--log-level', 'warn'],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 1000);
    await exited;
    clearTimeout(killer);
  };
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`Baton exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) {
        return {
          base,
          pid: child.pid ?? -1,
          cpuSeconds: () => cpuSecondsOf(child.pid ?? -1),
          stop,
        };
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error('Baton did not start within 15 s');
}
