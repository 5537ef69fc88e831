/**
 * A `redis-server` of our own, for the tests (scripts/test-redis.ts) and the benchmarks: on a free
 * port, in a folder of its own, persisting nothing unless asked to (`appendOnly`: AOF with
 * `appendfsync everysec`, for restarts), stopped with the process that started it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

/** A port nobody listens on now: the kernel's pick for port 0. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

/** One PING over a raw connection; resolves true on `+PONG`. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

export interface Running {
  child: ChildProcess;
  port: number;
  output: () => string;
}

/** Starts redis-server on `port`; resolves once it answers PING, rejects if it exits first. */
async function start(port: number, dir: string, appendOnly: boolean): Promise<Running> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      appendOnly ? 'yes' : 'no',
      '--appendfsync',
      'everysec',
      '--daemonize',
      'no',
      '--dir',
      dir,
      '--logfile',
      '',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | null = null;
  child.on('error', (err) => (exited = err.message));
  child.on('exit', (code, signal) => (exited ??= `exited (${signal ?? code})`));
  const running = { child, port, output: () => log };
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited !== null) throw new Error(`redis-server ${exited}\n${log}`);
    if (await ping(port)) return running;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not answer PING within ${START_TIMEOUT_MS} ms\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Kills redis-server if this process dies without tearing down (a crash, SIGKILL): a detached
 * shell polls this process and kills Redis when it is gone.
 */
export function watchdog(redisPid: number): ChildProcess {
  const script = 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null';
  const dog = spawn('sh', ['-c', script, 'redis-watchdog', String(process.pid), String(redisPid)], {
    detached: true,
    stdio: 'ignore',
  });
  dog.unref();
  return dog;
}

export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts redis-server on a free port in `dir` (tried on another port if the one found free is
 * taken before Redis binds it). `port`: that port instead (a restart on the same address).
 */
export async function startRedis(
  dir: string,
  { appendOnly = false, port }: { appendOnly?: boolean; port?: number } = {},
): Promise<Running> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await start(port ?? (await freePort()), dir, appendOnly);
    } catch (err) {
      lastError = err;
      if (port !== undefined) break;
    }
  }
  throw lastError;
}
