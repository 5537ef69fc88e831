import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface MainProcess {
  base: string;
  child: ChildProcess;
  /** Everything it wrote so far (pino's JSON lines). */
  log(): string;
  /** The log's JSON entries. */
  entries(): Array<{ level: number; msg: string } & Record<string, unknown>>;
  /** Resolves with its exit code. */
  exited: Promise<number | null>;
  /** Stops it (SIGTERM) unless it has exited; resolves when it has. */
  stop(): Promise<void>;
}

/** `server/main.ts` as an operator starts it, on a free port (`--port 0`). */
export async function runMain(
  args: string[],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<MainProcess> {
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', path.resolve('server/main.ts'), '--port', '0', ...args],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  let out = '';
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const m = /Baton listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m !== null) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`main.ts exited ${code}: ${out}`)));
  });
  return {
    base,
    child,
    log: () => out,
    entries: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string }),
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
